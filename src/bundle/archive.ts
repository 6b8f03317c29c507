// Reading a bundle archive from someone else: never "extract everything". The archive is
// read entry by entry through tar's Parser; only regular files and directories with
// canonical relative names are written, each with O_EXCL|O_NOFOLLOW into a fresh private
// directory, while every limit is checked as bytes stream in. The directory is verified
// against its manifest before anything reads it, and removed on any refusal and on exit.

import { closeSync, constants, createReadStream, mkdirSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { Parser, type ReadEntry } from "tar";
import { HarnessError } from "../errors.js";
import { onCleanup } from "../cleanup.js";
import type { ExportedManifest } from "./export-manifest.js";
import { MANIFEST } from "./manifest.js";
import { readBundle, type Bundle } from "./read.js";
import { checkBundleDir, formatProblem, type BundleProblem, type VerifyOptions } from "./verify.js";

const MiB = 1024 * 1024;

export interface ArchiveLimits {
  maxEntries: number;
  /** Declared and actual size of one member. */
  maxMemberBytes: number;
  /** Decompressed bytes of the whole tar stream, headers and padding included, counted as they stream. */
  maxTotalBytes: number;
  /** Path segments below the archive's top. */
  maxDepth: number;
  maxPathBytes: number;
}

// A 24-trial bundle is ~5 MB in ~70 files; a 1000-trial sweep stays far below these.
export const ARCHIVE_LIMITS: ArchiveLimits = { maxEntries: 50_000, maxMemberBytes: 256 * MiB, maxTotalBytes: 512 * MiB, maxDepth: 8, maxPathBytes: 255 };

export interface ArchiveOptions extends VerifyOptions {
  limits?: Partial<ArchiveLimits>;
  /** Where the private extraction directory is created (default: the OS temp dir). */
  tmpRoot?: string;
}

interface Extracted {
  ok: true;
  /** The bundle directory inside the private directory. */
  root: string;
  remove: () => Promise<void>;
}
type Extraction = Extracted | { ok: false; refusal: string };

/** A bundle opened from a directory or an archive; close() removes what an archive extracted. */
export interface OpenedBundle extends Bundle {
  source: string;
  close: () => Promise<void>;
}

/**
 * The one way `verify`, `replay` and `report` open what a user names: a bundle directory
 * (read and verified in place) or a .tar.gz (extracted safely, verified, then read).
 */
export async function openBundle(target: string, options: ArchiveOptions = {}): Promise<OpenedBundle> {
  if ((await targetKind(target)) === "directory") return { ...(await readBundle(target)), source: target, close: async () => {} };
  const extracted = await extractArchive(target, options);
  if (!extracted.ok) throw new HarnessError("BAD_BUNDLE", `${target}: ${extracted.refusal}`);
  try {
    // Records are validated as they are used (readBundle); verify checks each one.
    const check = await checkBundleDir(extracted.root, { records: false, ...options });
    if (check.problems.length > 0) {
      const more = check.problems.length > 1 ? ` (and ${check.problems.length - 1} more; run forensics verify ${target})` : "";
      throw new HarnessError("BAD_BUNDLE", `${target}: ${formatProblem(check.problems[0]!)}${more}`);
    }
    return { ...(await readBundle(extracted.root)), source: target, close: extracted.remove };
  } catch (err) {
    await extracted.remove();
    throw err;
  }
}

export interface Verification {
  target: string;
  kind: "directory" | "archive";
  manifest: ExportedManifest | null;
  problems: BundleProblem[];
}

/** Every problem with a bundle directory or archive; an archive refused while reading is one problem. */
export async function verifyBundle(target: string, options: ArchiveOptions = {}): Promise<Verification> {
  const kind = await targetKind(target);
  if (kind === "directory") return { target, kind, ...(await checkBundleDir(target, options)) };
  const extracted = await extractArchive(target, options);
  if (!extracted.ok) return { target, kind, manifest: null, problems: [{ problem: extracted.refusal }] };
  try {
    return { target, kind, ...(await checkBundleDir(extracted.root, options)) };
  } finally {
    await extracted.remove();
  }
}

async function targetKind(target: string): Promise<"directory" | "archive"> {
  const st = await stat(target).catch(() => null);
  if (st === null) throw new HarnessError("BAD_INPUT", `${target}: no such bundle directory or archive`);
  if (st.isDirectory()) return "directory";
  if (st.isFile()) return "archive";
  throw new HarnessError("BAD_INPUT", `${target}: neither a bundle directory nor an archive file`);
}

/** Extraction directories still on disk; removed on exit whatever the path out. */
const liveDirs = new Set<string>();
let exitHookInstalled = false;

function trackDir(dir: string): () => Promise<void> {
  liveDirs.add(dir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  // Ctrl-C runs the registered cleanups before exiting.
  const unregister = onCleanup(() => remove());
  const remove = async (): Promise<void> => {
    unregister();
    liveDirs.delete(dir);
    await rm(dir, { recursive: true, force: true });
  };
  return remove;
}

/** Extracts an archive into a fresh 0700 directory, or says why it was refused (nothing left behind). */
export async function extractArchive(file: string, options: ArchiveOptions = {}): Promise<Extraction> {
  const limits = { ...ARCHIVE_LIMITS, ...options.limits };
  const parent = options.tmpRoot ?? tmpdir();
  const dir = await mkdtemp(join(parent, "forensics-archive-")).catch((err: NodeJS.ErrnoException) => {
    throw new HarnessError("OUTPUT_FAILED", `cannot create a private directory in ${parent} to read ${file} (${err.code ?? err.message}): set TMPDIR to a writable directory`, { cause: err });
  });
  const remove = trackDir(dir);
  try {
    const refusal = await streamEntries(file, dir, limits);
    if (refusal !== null) {
      await remove();
      return { ok: false, refusal };
    }
    const top = await readdir(dir, { withFileTypes: true });
    if (top.some((e) => e.name === MANIFEST)) return { ok: true, root: dir, remove };
    if (top.length === 1 && top[0]!.isDirectory()) return { ok: true, root: join(dir, top[0]!.name), remove };
    await remove();
    return { ok: false, refusal: `refused: no ${MANIFEST} at the top or in a single top-level directory (is this a forensics bundle?)` };
  } catch (err) {
    await remove();
    throw err;
  }
}

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
const startsWith = (buf: Buffer, magic: number[]): boolean => magic.every((b, i) => buf[i] === b);

function readMagic(file: string): Buffer {
  const buf = Buffer.alloc(4);
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    readSync(fd, buf, 0, 4, 0);
    return buf;
  } catch (err) {
    throw new HarnessError("BAD_INPUT", `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const show = (name: string): string => JSON.stringify(name.length > 120 ? `${name.slice(0, 120)}…` : name);
const size = (n: number): string => (n >= MiB ? `${(n / MiB).toFixed(n % MiB === 0 ? 0 : 1)} MiB` : `${n} bytes`);

/** Why an entry name is refused, or its canonical form (null: the archive's "./" itself). */
function checkName(raw: string, limits: ArchiveLimits): { name: string | null } | { refusal: string } {
  if (/[\u0000-\u001f\u007f]/.test(raw)) return { refusal: `entry name ${show(raw)} holds a NUL or control byte` };
  if (raw.includes("\\")) return { refusal: `entry name ${show(raw)} holds a backslash` };
  if (raw.startsWith("/")) return { refusal: `entry ${show(raw)} is an absolute path` };
  if (/^[A-Za-z]:/.test(raw)) return { refusal: `entry ${show(raw)} is a drive-relative path` };
  const name = raw.replace(/^(?:\.\/)+/, "").replace(/\/$/, "");
  if (name === "" || name === ".") return { name: null };
  const segments = name.split("/");
  if (segments.includes("..")) return { refusal: `entry ${show(raw)} leaves the archive with '..'` };
  if (segments.some((s) => s === "" || s === ".")) return { refusal: `entry ${show(raw)} is not a canonical path` };
  if (segments.length > limits.maxDepth) return { refusal: `entry ${show(raw)} is ${segments.length} levels deep; the limit is ${limits.maxDepth}` };
  if (Buffer.byteLength(name) > limits.maxPathBytes) return { refusal: `entry name ${show(raw)} is ${Buffer.byteLength(name)} bytes; the limit is ${limits.maxPathBytes}` };
  return { name };
}

const REFUSED_TYPES: Record<string, string> = {
  SymbolicLink: "a symbolic link",
  Link: "a hard link",
  CharacterDevice: "a character device",
  BlockDevice: "a block device",
  FIFO: "a FIFO",
};

/**
 * Feeds the archive through tar's Parser and writes what is accepted. Resolves to null when
 * every entry was accepted, or to the first refusal; it stops reading at the first one.
 * Writes are synchronous inside the entry's data events: each chunk is on disk before the
 * parser is fed the next, so nothing buffers and no write can outlive a refusal.
 */
function streamEntries(file: string, dir: string, limits: ArchiveLimits): Promise<string | null> {
  const magic = readMagic(file);
  return new Promise((settle) => {
    const input = createReadStream(file);
    const gunzip = startsWith(magic, GZIP_MAGIC) ? createGunzip() : null;
    const source: Readable = gunzip ? input.pipe(gunzip) : input;
    // strict: a bad checksum or a truncated archive is an error, not a warning to skip past.
    const parser = new Parser({ strict: true, maxMetaEntrySize: 64 * 1024 });
    const names = new Set<string>();
    /** Directories already created (all 0700 and ours: nothing else can have made them). */
    const made = new Set<string>();
    let entries = 0;
    let streamed = 0;
    let fd: number | null = null;
    let done = false;

    const finish = (refusal: string | null): void => {
      if (done) return;
      done = true;
      if (fd !== null) closeSync(fd);
      fd = null;
      input.destroy();
      gunzip?.destroy();
      parser.removeAllListeners();
      parser.on("error", () => {});
      settle(refusal === null ? null : `refused: ${refusal}`);
    };

    const onEntry = (entry: ReadEntry): void => {
      if (++entries > limits.maxEntries) return finish(`more than ${limits.maxEntries} entries`);
      const checked = checkName(entry.path, limits);
      if ("refusal" in checked) return finish(checked.refusal);
      const name = checked.name;
      if (name === null) return void entry.resume();
      const refusedType = REFUSED_TYPES[entry.type];
      if (refusedType) return finish(`entry ${show(name)} is ${refusedType}${entry.linkpath ? ` (to ${show(entry.linkpath)})` : ""}; only regular files and directories are accepted`);
      const isDir = entry.type === "Directory";
      if (!isDir && !["File", "OldFile", "ContiguousFile"].includes(entry.type)) return finish(`entry ${show(name)} has type ${entry.type}; only regular files and directories are accepted`);
      if (names.has(name)) return finish(`entry ${show(name)} appears twice`);
      names.add(name);
      const target = join(dir, name);
      try {
        if (isDir) {
          mkdirSync(target, { recursive: true, mode: 0o700 });
          return void entry.resume();
        }
        if (entry.size > limits.maxMemberBytes) return finish(`entry ${show(name)} is ${size(entry.size)}; the limit for one member is ${size(limits.maxMemberBytes)}`);
        if (!made.has(dirname(target))) mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
        made.add(dirname(target));
        // O_EXCL: never reuse what is there; O_NOFOLLOW: never write through a link.
        fd = openSync(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      } catch (err) {
        return finish(`entry ${show(name)} conflicts with another entry (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
      let written = 0;
      entry.on("data", (chunk: Buffer) => {
        if (done || fd === null) return;
        written += chunk.length;
        if (written > limits.maxMemberBytes) return finish(`entry ${show(name)} holds more than ${size(limits.maxMemberBytes)}`);
        writeSync(fd, chunk);
      });
      entry.on("end", () => {
        if (fd !== null) closeSync(fd);
        fd = null;
      });
    };

    parser.on("entry", (entry: ReadEntry) => {
      try {
        onEntry(entry);
      } catch (err) {
        finish(`cannot extract ${show(entry.path)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
    });
    // tar drops everything after a NUL in pax and GNU long names; another reader might not.
    parser.on("meta", (meta: string) => {
      if (meta.replace(/\0+$/, "").includes("\0")) finish("an extended header (pax or GNU long name) holds a NUL byte");
    });
    parser.on("warn", (_code: string, message: string | Error) => finish(`not a valid tar archive (${String(message)})`));
    parser.on("error", (err: Error) => finish(`not a valid tar archive (${err.message})`));
    parser.on("end", () => finish(entries === 0 ? "the archive holds no entries" : null));
    // After its end-of-archive blocks the parser keeps every further byte in one growing
    // buffer (quadratic: 32 MiB of trailing zeros take a minute), so reading stops there;
    // trailing padding or garbage is never looked at.
    let eof = false;
    parser.on("eof", () => {
      if (done || eof) return;
      eof = true;
      input.destroy();
      gunzip?.destroy();
      parser.end();
    });

    let first = true;
    source.on("data", (chunk: Buffer) => {
      if (done || eof) return;
      // Another compressed layer inside would be inflated by the parser, past this count.
      if (first && (startsWith(chunk, GZIP_MAGIC) || startsWith(chunk, ZSTD_MAGIC))) return finish(gunzip ? "the archive is compressed twice" : "zstd archives are not read; export writes .tar.gz");
      first = false;
      streamed += chunk.length;
      if (streamed > limits.maxTotalBytes) return finish(`decompresses to more than ${size(limits.maxTotalBytes)} (the limit); a decompression bomb?`);
      if (!parser.write(chunk)) {
        source.pause();
        parser.once("drain", () => source.resume());
      }
    });
    source.on("end", () => {
      if (!done && !eof) parser.end();
    });
    input.on("error", (err: NodeJS.ErrnoException) => finish(`cannot read the archive (${err.code ?? err.message})`));
    gunzip?.on("error", (err) => finish(`not a valid gzip stream (${err.message})`));
  });
}
