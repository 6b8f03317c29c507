import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { HarnessError } from "../errors.js";
import { installHint } from "../install-hints.js";

const found = new Map<string, string>();

/** Absolute path of a host tool on PATH, or a MISSING_TOOL error naming the install command. */
export async function resolveTool(name: string): Promise<string> {
  const known = found.get(name);
  if (known) return known;
  for (const dir of (process.env.PATH ?? "").split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      found.set(name, candidate);
      return candidate;
    } catch {
      // keep looking
    }
  }
  const fix = installHint(name);
  throw new HarnessError("MISSING_TOOL", `${name} not found on PATH: ${fix} (see forensics doctor)`);
}
