// Builds go-probes/<name> into a static binary that keeps its DWARF (gdb reads Go's runtime
// state through it), cached by what determines the bytes: module source, toolchain, flags.

import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, join } from "node:path";
import { resolveTool } from "../capture/tools.js";
import { HarnessError } from "../errors.js";
import { onCleanup } from "../cleanup.js";
import { parseElfHeader } from "./elf.js";
import { hostGoArch, makeGoEnv, normalizeToolchain, readGoEnv, resolveGoBinary, runGoBuild } from "./go-toolchain.js";
import { resolveProbesDir } from "./package-root.js";

export { resolveProbesDir } from "./package-root.js";

export interface BuiltProbe {
  name: string;
  /** Absolute path of the cached binary. */
  path: string;
  /** What the toolchain that built it reports, e.g. "go1.26.8". */
  goVersion: string;
  /** The cache key: sha256 of module source, toolchain version, target and flags. */
  hash: string;
  /** True when the binary came from the cache and nothing was built. */
  cached: boolean;
}

/**
 * How a probe is built beyond the defaults (static, pure Go): Go build tags, and cgo with a
 * given C compiler, linked statically (musl-gcc) or dynamically against the host's libc.
 */
export interface ProbeFlavour {
  tags?: string[];
  cgo?: { cc: string; static: boolean };
}

export interface BuildProbeOptions {
  /** A Go release such as "1.27.3" or "go1.27.3"; Go downloads it on first use. Default: the host's go. */
  go?: string;
  flavour?: ProbeFlavour;
  onProgress?: (msg: string) => void;
}

// No -s/-w: the DWARF must stay. -trimpath and -buildvcs=false keep host paths and git
// state out of the binary, so the same key always means the same bytes.
const BUILD_FLAGS = ["-trimpath", "-buildvcs=false"];
// CGO_ENABLED=0 links with Go's internal linker: no PT_INTERP, runs in a FROM-scratch root.
const BUILD_ENV = { CGO_ENABLED: "0", GOOS: "linux" };
const KEY_FORMAT = 2;

/** The go build flags and environment of a flavour; the defaults for none. */
function flavourBuild(flavour: ProbeFlavour | undefined): { flags: string[]; env: Record<string, string> } {
  const tags = flavour?.tags?.length ? [`-tags=${flavour.tags.join(",")}`] : [];
  const cgo = flavour?.cgo;
  if (cgo === undefined) return { flags: [...BUILD_FLAGS, ...tags], env: BUILD_ENV };
  // A static cgo binary needs the external linker told so; Go's internal linker cannot do it.
  const link = cgo.static ? ["-ldflags=-linkmode=external -extldflags=-static"] : [];
  return { flags: [...BUILD_FLAGS, ...tags, ...link], env: { ...BUILD_ENV, CGO_ENABLED: "1", CC: cgo.cc } };
}

/** Builds (or finds in the cache) go-probes/<name>, e.g. "gate", "sigterm", "testhelpers/sigdirty". */
export async function buildProbe(name: string, options: BuildProbeOptions = {}): Promise<BuiltProbe> {
  const probesDir = resolveProbesDir();
  await requireProbeDir(probesDir, name);
  const go = await resolveGoBinary();
  const env = makeGoEnv(options.go === undefined ? undefined : normalizeToolchain(options.go));
  const onGoOutput = options.onProgress && describeGoOutput(options.onProgress);

  const { GOVERSION: goVersion = "" } = await readGoEnv(["GOVERSION"], { go, cwd: probesDir, env, onProgress: onGoOutput });
  const flavour = flavourBuild(options.flavour);
  // The C compiler is a host tool like strace: missing, it is named with its package.
  const cc = options.flavour?.cgo && (await resolveTool(options.flavour.cgo.cc));
  const buildEnv = { ...env, ...flavour.env, ...(cc ? { CC: cc } : {}), GOARCH: hostGoArch() };
  const hash = createHash("sha256")
    .update(JSON.stringify({ KEY_FORMAT, source: await hashModuleSources(probesDir), goVersion, buildEnv, flags: flavour.flags }))
    .digest("hex");
  const path = join(resolveCacheDir(), hash, name);
  if (existsSync(path)) return { name, path, goVersion, hash, cached: true };

  options.onProgress?.(`building probe ${name} with ${goVersion}`);
  await mkdir(dirname(path), { recursive: true });
  // Built under a temporary name in the same directory, then renamed: rename(2) is atomic,
  // so an interrupted build never leaves a half binary under the name that means "cached".
  const partial = join(dirname(path), `.${basename(name)}.${process.pid}.${randomBytes(4).toString("hex")}.partial`);
  const forget = onCleanup(() => rm(partial, { force: true }));
  try {
    await runGoBuild([...flavour.flags, `./${name}`], partial, { go, cwd: probesDir, env: buildEnv, onProgress: onGoOutput });
    await requireExecutable(partial, name);
    await rename(partial, path);
  } finally {
    await rm(partial, { force: true });
    forget();
  }
  return { name, path, goVersion, hash, cached: false };
}

/** `${XDG_CACHE_HOME:-~/.cache}/forensics/probes`; a relative XDG_CACHE_HOME is ignored, as the XDG spec says. */
export function resolveCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), ".cache"), "forensics", "probes");
}

// Go's toolchain download is silent for a minute after one terse line; say what it is.
const describeGoOutput =
  (onProgress: (msg: string) => void) =>
  (line: string): void => {
    const download = line.match(/^go: downloading (go\S+)/);
    onProgress(download ? `downloading Go toolchain ${download[1]} (about 70 MB, once; Go keeps it in GOMODCACHE)` : line);
  };

async function requireProbeDir(probesDir: string, name: string): Promise<void> {
  const segments = name.split("/");
  const valid = segments.every((s) => /^[a-z0-9][a-z0-9_-]*$/.test(s) && s !== "internal" && s !== "testdata");
  const entries = valid ? await readdir(join(probesDir, name)).catch(() => []) : [];
  if (entries.some((e) => e.endsWith(".go"))) return;
  const known = (await readdir(probesDir, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && e.name !== "internal" && existsSync(join(probesDir, e.name, "main.go")))
    .map((e) => e.name)
    .sort();
  throw new HarnessError("BAD_INPUT", `no probe named "${name}" in ${probesDir}: use one of ${known.join(", ")}`);
}

// go build -o on a non-main package writes an archive instead of failing.
async function requireExecutable(file: string, name: string): Promise<void> {
  const handle = await open(file, "r");
  const head = Buffer.alloc(64);
  try {
    await handle.read(head, 0, 64, 0);
  } finally {
    await handle.close();
  }
  if (parseElfHeader(head) === null) {
    throw new HarnessError("BAD_INPUT", `go-probes/${name} is not a main package (go build wrote no executable): a probe needs package main`);
  }
}

/**
 * sha256 over every .go file, go.mod and go.sum of the module, by relative path. Like the
 * go command, it skips directories named testdata or starting with "." or "_".
 */
async function hashModuleSources(moduleDir: string): Promise<string> {
  const files: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(moduleDir, rel), { withFileTypes: true })) {
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory() && !/^[._]/.test(entry.name) && entry.name !== "testdata") await walk(path);
      else if (entry.isFile() && (entry.name.endsWith(".go") || entry.name === "go.mod" || entry.name === "go.sum")) files.push(path);
    }
  };
  await walk("");
  const h = createHash("sha256");
  for (const file of files.sort()) h.update(`${file}\0`).update(await readFile(join(moduleDir, file))).update("\0");
  return h.digest("hex");
}
