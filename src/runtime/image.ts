// Image assembly from host files, no registry (docs/design.md, "Images"): which files an init
// needs, how it is invoked, and an ImageSpec resolved to contents and a content hash that
// both runtimes use (docker to tag and cache an image, namespace to fill a root).

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { posix } from "node:path";
import { execa } from "execa";
import { HarnessError } from "../errors.js";
import { INSTALL_HINTS } from "../install-hints.js";
import { GATE_DIR, GATE_PATH, type ImageFile, type ImageSpec, type InitKind } from "./runtime.js";

interface InitBinary {
  hostPath: string;
  path: string;
  /** argv before the program's own. */
  prefix: string[];
  install: string;
}

// tini-static needs nothing else in the image; tini -- keeps tini from parsing the
// program's flags as its own. dumb-init takes the program directly.
const INIT_BINARIES: Partial<Record<InitKind, InitBinary>> = {
  tini: { hostPath: "/usr/bin/tini-static", path: "/tini", prefix: ["/tini", "--"], install: INSTALL_HINTS.tini },
  "dumb-init": { hostPath: "/usr/bin/dumb-init", path: "/dumb-init", prefix: ["/dumb-init"], install: INSTALL_HINTS["dumb-init"] },
};

/**
 * The host files an init needs inside the image. docker-init has none: the engine
 * bind-mounts its own. A dynamic init brings the libraries and ELF interpreter `ldd`
 * names, each at its host path.
 */
export function initFiles(init: InitKind): Promise<ImageFile[]> {
  // Every trial asks; ldd costs a process spawn (~10 ms) and the host does not change mid-run.
  let files = initFilesMemo.get(init);
  if (files === undefined) {
    files = findInitFiles(init);
    initFilesMemo.set(init, files);
    files.catch(() => initFilesMemo.delete(init));
  }
  return files;
}

const initFilesMemo = new Map<InitKind, Promise<ImageFile[]>>();

async function findInitFiles(init: InitKind): Promise<ImageFile[]> {
  const binary = INIT_BINARIES[init];
  if (binary === undefined) return [];
  const found = await stat(binary.hostPath).catch(() => null);
  if (found === null) {
    throw new HarnessError("MISSING_TOOL", `${init} not found at ${binary.hostPath}: install it (${binary.install})`);
  }
  return [{ hostPath: binary.hostPath, path: binary.path }, ...(await sharedLibraries(binary.hostPath))];
}

/** The container command that runs probeArgv under init. */
export function initCommand(init: InitKind, probeArgv: string[]): string[] {
  return [...(INIT_BINARIES[init]?.prefix ?? []), ...probeArgv];
}

/** The libraries and ELF interpreter `ldd` names for a dynamic host binary, each at its host path; none for a static one. */
export async function sharedLibraries(hostPath: string): Promise<ImageFile[]> {
  const result = await execa("ldd", [hostPath], { reject: false });
  // ldd exits 1 saying "not a dynamic executable" (glibc) or "statically linked" for static binaries.
  if (result.exitCode !== 0 || /statically linked/.test(result.stdout)) return [];
  const files: ImageFile[] = [];
  for (const line of result.stdout.split("\n")) {
    if (/=> not found/.test(line)) {
      throw new HarnessError("MISSING_TOOL", `${hostPath} needs a library the host lacks: ${line.trim()}`);
    }
    // "libc.so.6 => /lib/…/libc.so.6 (0x…)" or the interpreter "/lib64/ld-linux-x86-64.so.2 (0x…)";
    // the vDSO ("linux-vdso.so.1 (0x…)") has no file.
    const path = /(?:=>\s*|^\s*)(\/\S+)\s+\(0x/.exec(line)?.[1];
    if (path !== undefined) files.push({ hostPath: path, path });
  }
  return files;
}

export type ResolvedEntry = ResolvedFile | ResolvedSymlink;

export interface ResolvedSymlink {
  kind: "symlink";
  path: string;
  target: string;
}

export interface ResolvedFile {
  kind: "file";
  path: string;
  /** The host file with symlinks resolved: the image gets contents, never a link. */
  realPath: string;
  /** Permission bits. */
  mode: number;
  size: number;
  sha256: string;
}

export interface ResolvedImage {
  /** Sorted by path. */
  files: ResolvedEntry[];
  /** sha256 over every path, mode and content hash; equal hashes mean equal roots. */
  hash: string;
}

/** `requireGate: false` is for images that are not trial containers (test stand-ins for a user's image). */
export async function resolveImage(spec: ImageSpec, { requireGate = true } = {}): Promise<ResolvedImage> {
  checkPaths(spec.files, requireGate);
  const files = await Promise.all(spec.files.map(resolveFile));
  files.sort((a, b) => (a.path < b.path ? -1 : 1));
  // The format tag retires images built before symlink entries were built uncached.
  const h = createHash("sha256").update("image-v2\n");
  for (const f of files) h.update(f.kind === "file" ? `${f.path}\0${f.mode.toString(8)}\0${f.sha256}\n` : `${f.path}\0->\0${f.target}\n`);
  return { files, hash: h.digest("hex") };
}

function checkPaths(files: ImageFile[], requireGate: boolean): void {
  const bad = (why: string) => new HarnessError("BAD_INPUT", `image spec: ${why}`);
  const seen = new Set<string>();
  for (const { path } of files) {
    if (!path.startsWith("/") || posix.normalize(path) !== path || path === "/") throw bad(`${JSON.stringify(path)} is not a normalized absolute file path`);
    if (path === GATE_DIR || path.startsWith(`${GATE_DIR}/`)) throw bad(`${path} is inside ${GATE_DIR}, which the runtime owns`);
    if (seen.has(path)) throw bad(`${path} is listed twice`);
    seen.add(path);
  }
  if (requireGate && !seen.has(GATE_PATH)) throw bad(`the gate is missing at ${GATE_PATH}`);
}

// Hashing a probe takes milliseconds but every trial asks again; the key changes whenever
// the file could have.
const hashMemo = new Map<string, string>();

async function resolveFile(file: ImageFile): Promise<ResolvedEntry> {
  if ("symlink" in file) return { kind: "symlink", path: file.path, target: file.symlink };
  const realPath = await realpath(file.hostPath).catch((err: unknown) => {
    throw new HarnessError("BAD_INPUT", `image file ${file.path}: ${file.hostPath} is missing on the host`, { cause: err });
  });
  const st = await stat(realPath);
  if (!st.isFile()) throw new HarnessError("BAD_INPUT", `image file ${file.path}: ${realPath} is not a regular file`);
  const key = `${realPath}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  let sha256 = hashMemo.get(key);
  if (sha256 === undefined) {
    const h = createHash("sha256");
    for await (const chunk of createReadStream(realPath)) h.update(chunk as Buffer);
    sha256 = h.digest("hex");
    hashMemo.set(key, sha256);
  }
  return { kind: "file", path: file.path, realPath, mode: st.mode & 0o7777, size: st.size, sha256 };
}
