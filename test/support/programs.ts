import { mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { resolveCacheDir } from "../../src/probe/build.js";

const SOURCES = join(import.meta.dirname, "../fixtures/programs");

/**
 * Builds test/fixtures/programs/<name>.c as a static executable (cached beside the probe
 * builds) and returns its path: test targets that are not Go programs.
 */
export async function buildStaticC(name: string): Promise<string> {
  const out = join(resolveCacheDir(), "c", name);
  const source = join(SOURCES, `${name}.c`);
  const [src, bin] = await Promise.all([stat(source), stat(out).catch(() => null)]);
  if (bin !== null && bin.mtimeMs >= src.mtimeMs) return out;
  await mkdir(join(resolveCacheDir(), "c"), { recursive: true });
  await execa("cc", ["-static", "-O2", "-o", out, source]);
  return out;
}

/**
 * A copy of a built program without its symbol table and DWARF (`strip`, what `go build
 * -ldflags=-s -w` leaves out): a stripped user binary, cached beside the original.
 */
export async function stripProgram(path: string, name: string): Promise<string> {
  const out = join(resolveCacheDir(), "stripped", name);
  const [src, bin] = await Promise.all([stat(path), stat(out).catch(() => null)]);
  if (bin !== null && bin.mtimeMs >= src.mtimeMs) return out;
  await mkdir(join(resolveCacheDir(), "stripped"), { recursive: true });
  await execa("strip", ["-o", out, path]);
  return out;
}
