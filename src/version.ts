import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The version in forensics' own package.json, the nearest one above this module named
 * "forensics" (tsc may copy a package.json into dist/). Read at import, so it must not need
 * the rest of the install: a copy without go-probes/ still parses and replays, and `run`
 * says what is missing (findPackageRoot) instead of every command dying here.
 */
function readToolVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === "forensics" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // No package.json here, or not one of ours: look further up.
    }
  }
  return "unknown";
}

export const TOOL_VERSION: string = readToolVersion();
