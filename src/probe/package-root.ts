import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { HarnessError } from "../errors.js";

let root: string | undefined;

/**
 * The forensics package root: the nearest directory above this module holding both
 * package.json and go-probes/go.mod. The same walk works from src/probe/ (vitest, tsx)
 * and from dist/src/probe/ (after tsc), and skips a package.json tsc may copy into dist/.
 */
export function findPackageRoot(): string {
  if (root !== undefined) return root;
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "go-probes", "go.mod"))) {
      root = dir;
      return dir;
    }
  }
  throw new HarnessError(
    "MISSING_TOOL",
    `go-probes/go.mod not found in any directory above ${fileURLToPath(import.meta.url)}: reinstall forensics from its repository (the Go probe sources ship with it)`,
  );
}

/** go-probes/, the Go module holding the gate and every probe. */
export const resolveProbesDir = (): string => join(findPackageRoot(), "go-probes");
