import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { Header, Pax, type HeaderData } from "tar";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { extractArchive, openBundle, verifyBundle } from "../../src/bundle/archive.js";
import { exportBundle } from "../../src/bundle/export.js";
import { HarnessError } from "../../src/errors.js";
import { writeRealBundle } from "../support/bundle.js";

// Hostile archives, each built here from raw tar headers, each refused with its exact reason
// and leaving the filesystem as it was: the sandbox holds a canary directory every escape
// aims at, and the private extraction root (work/) must end up empty.

let sandbox: string;
let work: string;
let canary: string;

beforeEach(async () => {
  sandbox = await mkdtemp(join(tmpdir(), "forensics-archive-test-"));
  work = join(sandbox, "work");
  canary = join(sandbox, "canary");
  await mkdir(work);
  await mkdir(canary);
  await writeFile(join(canary, "keep"), "untouched\n");
});
afterEach(() => rm(sandbox, { recursive: true, force: true }));

/** Every path under the sandbox with its type, mode, size and content hash. */
async function snapshot(dir = sandbox, prefix = ""): Promise<string[]> {
  const rows: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    const st = await lstat(path);
    const hash = st.isFile() ? createHash("sha256").update(await readFile(path)).digest("hex") : "-";
    rows.push(`${prefix}${name} ${st.mode.toString(8)} ${st.size} ${hash}`);
    if (st.isDirectory()) rows.push(...(await snapshot(path, `${prefix}${name}/`)));
  }
  return rows;
}

const BLOCK = 512;
const pad = (n: number) => Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK);

/** One raw tar entry; the header is encoded as given, however hostile. */
function entry(h: HeaderData & { body?: string | Buffer }): Buffer {
  const body = Buffer.from(h.body ?? "");
  const block = Buffer.alloc(BLOCK);
  new Header({ mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), type: "File", size: body.length, ...h }).encode(block, 0);
  return Buffer.concat([block, body, pad(body.length)]);
}
/** A pax extended header setting `path` for the entry after it. */
const paxPath = (path: string) => new Pax({ path }).encode();
/** A GNU long-name entry ('L') naming the entry after it. */
const gnuLongName = (name: string) => entry({ path: "././@LongLink", type: "NextFileHasLongPath", body: `${name}\0` });
const tarOf = (...entries: Buffer[]) => Buffer.concat([...entries, Buffer.alloc(2 * BLOCK)]);

async function writeArchive(name: string, data: Buffer): Promise<string> {
  const path = join(sandbox, name);
  await writeFile(path, data);
  return path;
}

/** Extracts `data`, expects a refusal matching `why`, and that the sandbox is unchanged but for the archive. */
async function expectRefused(data: Buffer, why: RegExp | string, limits = {}): Promise<string> {
  const archive = await writeArchive("hostile.tar.gz", data);
  const before = await snapshot();
  const result = await extractArchive(archive, { tmpRoot: work, limits });
  expect(result.ok).toBe(false);
  const refusal = (result as { refusal: string }).refusal;
  expect(refusal).toMatch(/^refused: /);
  if (typeof why === "string") expect(refusal).toBe(`refused: ${why}`);
  else expect(refusal).toMatch(why);
  expect(refusal).not.toContain("\n");
  expect(await snapshot()).toEqual(before);
  expect(await readdir(work)).toEqual([]);
  return refusal;
}

const MANIFEST_ENTRY = entry({ path: "b/manifest.json", body: "{}" });

describe("extractArchive refuses hostile archives and writes nothing outside", () => {
  it("a symlink that points out, followed by a file written through it", async () => {
    const data = gzipSync(tarOf(MANIFEST_ENTRY, entry({ path: "b/raw", type: "SymbolicLink", linkpath: canary, size: 0 }), entry({ path: "b/raw/pwned", body: "x" })));
    await expectRefused(data, `entry "b/raw" is a symbolic link (to ${JSON.stringify(canary)}); only regular files and directories are accepted`);
    expect(existsSync(join(canary, "pwned"))).toBe(false);
  });

  it("a hard link to a file outside", async () => {
    const data = gzipSync(tarOf(MANIFEST_ENTRY, entry({ path: "b/h", type: "Link", linkpath: join(canary, "keep"), size: 0 })));
    await expectRefused(data, `entry "b/h" is a hard link (to ${JSON.stringify(join(canary, "keep"))}); only regular files and directories are accepted`);
  });

  it("a path climbing out with ..", async () => {
    // From work/forensics-archive-XXXX/ this lands in the sandbox's canary dir.
    await expectRefused(gzipSync(tarOf(entry({ path: "../../canary/pwned", body: "x" }))), `entry "../../canary/pwned" leaves the archive with '..'`);
    await expectRefused(gzipSync(tarOf(entry({ path: "b/../../x", body: "x" }))), `entry "b/../../x" leaves the archive with '..'`);
  });

  it("absolute and drive-relative paths, and backslashes", async () => {
    const abs = join(canary, "abs-pwned");
    await expectRefused(gzipSync(tarOf(entry({ path: abs, body: "x" }))), `entry ${JSON.stringify(abs)} is an absolute path`);
    expect(existsSync(abs)).toBe(false);
    await expectRefused(gzipSync(tarOf(entry({ path: "/etc/forensics-pwned", body: "x" }))), `entry "/etc/forensics-pwned" is an absolute path`);
    expect(existsSync("/etc/forensics-pwned")).toBe(false);
    await expectRefused(gzipSync(tarOf(entry({ path: "C:x", body: "x" }))), `entry "C:x" is a drive-relative path`);
    await expectRefused(gzipSync(tarOf(entry({ path: "C:/Windows/x", body: "x" }))), `entry "C:/Windows/x" is a drive-relative path`);
    await expectRefused(gzipSync(tarOf(entry({ path: "..\\..\\x", body: "x" }))), `entry name "..\\\\..\\\\x" holds a backslash`);
  });

  it("a duplicate name, which would let a second copy replace a verified first", async () => {
    await expectRefused(gzipSync(tarOf(MANIFEST_ENTRY, entry({ path: "b/manifest.json", body: "{2}" }))), `entry "b/manifest.json" appears twice`);
    await expectRefused(gzipSync(tarOf(entry({ path: "./b/x", body: "1" }), entry({ path: "b/x", body: "2" }))), `entry "b/x" appears twice`);
  });

  it("a file and a directory of the same name", async () => {
    await expectRefused(gzipSync(tarOf(entry({ path: "b/x", body: "1" }), entry({ path: "b/x/y", body: "2" }))), `entry "b/x/y" conflicts with another entry (EEXIST)`);
  });

  it("FIFOs and devices", async () => {
    await expectRefused(gzipSync(tarOf(entry({ path: "b/fifo", type: "FIFO", size: 0 }))), `entry "b/fifo" is a FIFO; only regular files and directories are accepted`);
    await expectRefused(gzipSync(tarOf(entry({ path: "b/null", type: "CharacterDevice", size: 0, devmaj: 1, devmin: 3 }))), `entry "b/null" is a character device; only regular files and directories are accepted`);
    await expectRefused(gzipSync(tarOf(entry({ path: "b/sda", type: "BlockDevice", size: 0, devmaj: 8, devmin: 0 }))), `entry "b/sda" is a block device; only regular files and directories are accepted`);
  });

  it("NUL and control bytes in names (pax and GNU long names carry them; ustar fields end at NUL)", async () => {
    await expectRefused(gzipSync(tarOf(paxPath("b/ok\0/../../canary/pwned"), entry({ path: "b/ok", body: "x" }))), "an extended header (pax or GNU long name) holds a NUL byte");
    await expectRefused(gzipSync(tarOf(gnuLongName("b/ok\0../../x"), entry({ path: "b/ok", body: "x" }))), "an extended header (pax or GNU long name) holds a NUL byte");
    await expectRefused(gzipSync(tarOf(entry({ path: "b/a\nb", body: "x" }))), `entry name "b/a\\nb" holds a NUL or control byte`);
    await expectRefused(gzipSync(tarOf(entry({ path: "b/\u001b[2Jx", body: "x" }))), `entry name "b/\\u001b[2Jx" holds a NUL or control byte`);
  });

  it("a long path and a deep one", async () => {
    const long = `b/${"a".repeat(300)}`;
    await expectRefused(gzipSync(tarOf(paxPath(long), entry({ path: "b/short", body: "x" }))), /^refused: entry name "b\/a{118}…" is 302 bytes; the limit is 255$/);
    const deep = `b/${Array(12).fill("d").join("/")}/f`;
    await expectRefused(gzipSync(tarOf(entry({ path: deep, body: "x" }))), `entry "${deep}" is 14 levels deep; the limit is 8`);
  });

  it("a gzip bomb: 1 GiB of zeros in members that each fit, aborted once the stream passes the total", async () => {
    // Deflate cannot shrink data more than ~1032:1, so 1 GiB is at least ~1 MiB of gzip:
    // gzip allows concatenated members, so the bomb is headers and 16 MiB blocks of zeros
    // compressed once and repeated: 8 tar members of 128 MiB each.
    const zeros = gzipSync(Buffer.alloc(16 * 1024 ** 2), { level: 9 });
    const member = (i: number) => {
      const header = Buffer.alloc(BLOCK);
      new Header({ path: `b/zeros-${i}`, mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), type: "File", size: 128 * 1024 ** 2 }).encode(header, 0);
      return [gzipSync(header), ...Array(8).fill(zeros)];
    };
    const bomb = Buffer.concat([...Array.from({ length: 8 }, (_, i) => member(i)).flat(), gzipSync(Buffer.alloc(2 * BLOCK))]);
    expect(bomb.length).toBeLessThan(1.1 * 1024 ** 2);
    const started = Date.now();
    // Limits lowered so the test writes 64 MiB, not the default 512, before the abort.
    await expectRefused(bomb, "decompresses to more than 64 MiB (the limit); a decompression bomb?", { maxTotalBytes: 64 * 1024 ** 2, maxMemberBytes: 128 * 1024 ** 2 });
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it("a header that declares more than the member limit is refused before its data is read", async () => {
    const member = Buffer.alloc(BLOCK);
    new Header({ path: "b/zeros", mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), type: "File", size: 1024 ** 3 }).encode(member, 0);
    await expectRefused(gzipSync(Buffer.concat([member, Buffer.alloc(1024 ** 2)])), `entry "b/zeros" is 1024 MiB; the limit for one member is 256 MiB`);
  });

  it("1 GiB of zeros with no header stops at tar's end-of-archive marker (two zero blocks)", async () => {
    const zeros = gzipSync(Buffer.alloc(16 * 1024 ** 2), { level: 9 });
    const started = Date.now();
    await expectRefused(Buffer.concat(Array(64).fill(zeros)), "not a valid tar archive (TAR_BAD_ARCHIVE: Unrecognized archive format)");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("100 000 entries", async () => {
    const entries = Array.from({ length: 100_000 }, (_, i) => entry({ path: `b/${i}` }));
    await expectRefused(gzipSync(tarOf(...entries)), "more than 50000 entries");
  });

  it("a second compression layer, not gzip, truncated or not tar at all", async () => {
    await expectRefused(gzipSync(gzipSync(tarOf(MANIFEST_ENTRY))), "the archive is compressed twice");
    const good = gzipSync(tarOf(MANIFEST_ENTRY, entry({ path: "b/x", body: "y".repeat(5000) })));
    await expectRefused(good.subarray(0, good.length - 20), /^refused: not a valid (gzip stream|tar archive) \(/);
    await expectRefused(Buffer.from("this is not an archive\n".repeat(40)), /^refused: not a valid tar archive \(/);
    await expectRefused(gzipSync(tarOf(entry({ path: "b/x", body: "x".repeat(2000) })).subarray(0, 1024)), /^refused: not a valid tar archive \(/);
  });
});

describe("openBundle and verifyBundle on a real exported bundle", () => {
  let root: string;
  let bundleDir: string;
  let archive: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "forensics-archive-bundle-"));
    bundleDir = await writeRealBundle(root);
    archive = (await exportBundle(bundleDir, { out: join(root, "b.tar.gz"), redact: true })).out;
    return () => rm(root, { recursive: true, force: true });
  });

  it("opens the archive in a private 0700 directory and removes it on close", async () => {
    const before = await snapshot();
    const bundle = await openBundle(archive, { tmpRoot: work });
    const [dir] = await readdir(work);
    expect((await lstat(join(work, dir!))).mode & 0o777).toBe(0o700);
    expect(bundle.manifest.status).toBe("complete");
    expect(bundle.trials).toHaveLength(24);
    await bundle.close();
    expect(await readdir(work)).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });

  it("opens a directory in place, and names what is missing", async () => {
    const bundle = await openBundle(bundleDir);
    expect(bundle.dir).toBe(bundleDir);
    const err = await openBundle(join(root, "nope.tar.gz")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as HarnessError).code).toBe("BAD_INPUT");
  });

  it("refuses an archive whose member differs from its manifest, and removes what it extracted", async () => {
    const tampered = await writeArchive("tampered.tar.gz", gzipSync(tamperOneByte(gunzipSync(await readFile(archive)))));
    const err = await openBundle(tampered, { tmpRoot: work }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as HarnessError).message).toMatch(/evidence\.json: does not match its sha256/);
    expect(await readdir(work)).toEqual([]);
    const v = await verifyBundle(tampered, { tmpRoot: work });
    expect(v.problems).toEqual([{ path: "evidence.json", problem: "does not match its sha256 in the manifest (modified or corrupt)" }]);
    expect(await readdir(work)).toEqual([]);
  });
});

/** Flips one byte of the evidence.json member's data (the header's checksum stays valid). */
function tamperOneByte(tar: Buffer): Buffer {
  const copy = Buffer.from(tar);
  for (let off = 0; off < copy.length; ) {
    const h = new Header(copy, off);
    if (!h.path) break;
    const size = h.size ?? 0;
    if (h.path.endsWith("/evidence.json")) {
      copy[off + BLOCK + 10]! ^= 0x20;
      return copy;
    }
    off += BLOCK + size + pad(size).length;
  }
  throw new Error("no evidence.json member");
}
