import { readFileSync } from "node:fs";
import { join } from "node:path";
import { findPackageRoot } from "./probe/package-root.js";

export const TOOL_VERSION: string = (JSON.parse(readFileSync(join(findPackageRoot(), "package.json"), "utf8")) as { version: string }).version;
