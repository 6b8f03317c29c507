// `forensics export` and `forensics verify` through the built CLI, on a real bundle: a
// round trip verifies; one changed byte in the archive fails verification naming the file;
// two exports are byte-identical; refusals are one line with their exit status.

import { cp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { execa } from "execa";
import { Header } from "tar";
import { beforeAll, describe, expect, it } from "vitest";
import { SCHEMA_VERSION } from "../../src/evidence/schemas.js";
import { writeRealBundle } from "../support/bundle.js";
import { ensureBuilt, expectOneErrorLine, makeSandbox, root, runCli, type Sandbox } from "./cli.js";

beforeAll(ensureBuilt);

async function bundleIn(sandbox: Sandbox): Promise<string> {
  return writeRealBundle(sandbox.out);
}

/** The archive with one byte of `member`'s data flipped (tar checksums cover headers only). */
function flipByteIn(gz: Buffer, member: string): Buffer {
  const tar = gunzipSync(gz);
  for (let off = 0; off + 512 <= tar.length; ) {
    const h = new Header(tar, off);
    if (h.nullBlock) break;
    if (h.path === member) {
      tar[off + 512 + 7]! ^= 0x01;
      return gzipSync(tar);
    }
    off += 512 + Math.ceil((h.size ?? 0) / 512) * 512;
  }
  throw new Error(`no member ${member}`);
}

describe("forensics export → verify", () => {
  it("round trip OK; a flipped byte fails naming the file; two exports are identical", async () => {
    const sandbox = await makeSandbox();
    const dir = await bundleIn(sandbox);
    const runId = dir.split("/").at(-1)!;
    const a = join(sandbox.dir, "a.tar.gz");
    const b = join(sandbox.dir, "b.tar.gz");

    const exported = await runCli(["export", dir, "-o", a], { sandbox });
    expect(exported.exitCode, exported.stderr).toBe(0);
    expect(exported.stderr).toBe("");
    expect(exported.stdout).toMatch(new RegExp(`^wrote ${a}: \\d+ bytes \\(tar \\d+\\), 147 members, sha256 [0-9a-f]{64}\\nredacted: nothing found$`));
    expect((await runCli(["export", dir, "--output", b], { sandbox })).exitCode).toBe(0);
    expect(Buffer.compare(await readFile(a), await readFile(b)), "two exports of one bundle are byte-identical").toBe(0);

    const ok = await runCli(["verify", a], { sandbox });
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toBe(`OK ${a}: schema ${SCHEMA_VERSION}, complete, 146 files match their sha256, nothing unlisted; redacted: nothing found`);

    const member = `${runId}/raw/namespace-tini-go1.26.8/t013/strace.log`;
    const bad = join(sandbox.dir, "bad.tar.gz");
    await writeFile(bad, flipByteIn(await readFile(a), member));
    const failed = await runCli(["verify", bad], { sandbox });
    expect(failed.exitCode).toBe(67);
    expect(failed.stdout).toBe(`BAD ${bad}: 1 problem\n  raw/namespace-tini-go1.26.8/t013/strace.log: does not match its sha256 in the manifest (modified or corrupt)`);
    expect(failed.stderr).toBe("");
    // The private extraction directories are gone (TMPDIR is the sandbox's).
    expect(await readdir(sandbox.tmp)).toEqual([]);

    const json = await runCli(["verify", "--json", bad], { sandbox });
    expect(json.exitCode).toBe(67);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, kind: "archive", problems: [{ path: "raw/namespace-tini-go1.26.8/t013/strace.log" }] });
  });

  it("verify lists every problem of a directory, not only the first", async () => {
    const sandbox = await makeSandbox();
    const dir = await bundleIn(sandbox);
    await writeFile(join(dir, "raw/namespace-none-go1.26.8/t005/strace.log"), "changed\n", { flag: "a" });
    await rm(join(dir, "findings.json"));
    await writeFile(join(dir, "raw/stray.txt"), "?\n");
    const r = await runCli(["verify", dir], { sandbox });
    expect(r.exitCode).toBe(67);
    expect(r.stdout.split("\n")).toEqual([
      `BAD ${dir}: 3 problems`,
      "  findings.json: listed in the manifest but missing",
      expect.stringMatching(/^ {2}raw\/namespace-none-go1\.26\.8\/t005\/strace\.log: is \d+ bytes, the manifest says \d+ \(modified or truncated\)$/),
      "  raw/stray.txt: present but not listed in the manifest",
    ]);
  });

  it("a hostile archive is refused as one problem, with nothing left in TMPDIR", async () => {
    const sandbox = await makeSandbox();
    const block = Buffer.alloc(512);
    new Header({ path: "b/evil", type: "SymbolicLink", linkpath: "/etc", mode: 0o777, uid: 0, gid: 0, size: 0, mtime: new Date(0) }).encode(block, 0);
    const archive = join(sandbox.dir, "evil.tar.gz");
    await writeFile(archive, gzipSync(Buffer.concat([block, Buffer.alloc(1024)])));
    const r = await runCli(["verify", archive], { sandbox });
    expect(r.exitCode).toBe(67);
    expect(r.stdout).toBe(`BAD ${archive}: 1 problem\n  refused: entry "b/evil" is a symbolic link (to "/etc"); only regular files and directories are accepted`);
    expect(await readdir(sandbox.tmp)).toEqual([]);
  });
});

describe("refusals are one line with a stable exit status", () => {
  it("export of a tampered bundle exits 67 naming the file; of a partial one, 67 unless --allow-partial", async () => {
    const sandbox = await makeSandbox();
    const dir = await bundleIn(sandbox);
    const copy = join(sandbox.dir, "copy");
    await cp(dir, copy, { recursive: true });
    await writeFile(join(copy, "evidence.json"), " ", { flag: "a" });
    const tampered = await runCli(["export", copy, "-o", join(sandbox.dir, "t.tar.gz")], { sandbox });
    expect(tampered.exitCode).toBe(67);
    expect(expectOneErrorLine(tampered.stderr, { progress: false })).toMatch(/refusing to export: evidence\.json: is \d+ bytes, the manifest says \d+/);
    expect(tampered.stdout).toBe("");
    expect(await readdir(sandbox.dir)).not.toContain("t.tar.gz");

    const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
    await writeFile(join(dir, "manifest.json"), JSON.stringify({ ...manifest, status: "partial", reason: "interrupted (SIGINT)" }));
    const partial = await runCli(["export", dir, "-o", join(sandbox.dir, "p.tar.gz")], { sandbox });
    expect(partial.exitCode).toBe(67);
    expect(expectOneErrorLine(partial.stderr, { progress: false })).toContain("partial bundle (the run was cut short: interrupted (SIGINT)); pass --allow-partial");
    const allowed = await runCli(["export", dir, "-o", join(sandbox.dir, "p.tar.gz"), "--allow-partial"], { sandbox });
    expect(allowed.exitCode, allowed.stderr).toBe(0);
    expect((await runCli(["verify", join(sandbox.dir, "p.tar.gz")], { sandbox })).exitCode).toBe(67);
    expect((await runCli(["verify", "--allow-partial", join(sandbox.dir, "p.tar.gz")], { sandbox })).exitCode).toBe(0);
  });

  it.each([
    [["verify", "/nonexistent/b.tar.gz"], 66, "no such bundle directory or archive"],
    [["export", "/nonexistent/bundle"], 66, "no such bundle directory"],
    [["export"], 64, "missing required argument"],
    [["verify"], 64, "missing required argument"],
    [["export", ".", "--no-redact", "--strip-host"], 64, "--strip-host is part of redaction"],
  ])("%j exits %i: %s", async (args, code, text) => {
    const r = await runCli(args);
    expect(r.exitCode).toBe(code);
    expect(expectOneErrorLine(r.stderr, { progress: false })).toContain(text);
  });

  it("an archive that cannot be written exits 75 naming it; one inside the bundle is a usage error", async () => {
    const sandbox = await makeSandbox();
    const dir = await bundleIn(sandbox);
    for (const out of [join(sandbox.dir, "missing", "x.tar.gz"), "/proc/x.tar.gz"]) {
      const r = await runCli(["export", dir, "-o", out], { sandbox });
      expect(r.exitCode).toBe(75);
      expect(expectOneErrorLine(r.stderr, { progress: false })).toMatch(new RegExp(`^forensics: cannot write ${out}: .*: pick another -o$`));
    }
    const inside = await runCli(["export", dir, "-o", join(dir, "x.tar.gz")], { sandbox });
    expect(inside.exitCode).toBe(64);
    expect(expectOneErrorLine(inside.stderr, { progress: false })).toContain("write the archive outside the bundle it archives");
    expect((await runCli(["verify", dir], { sandbox })).exitCode).toBe(0);
  });

  it("--no-redact warns on stderr and says so in the output", async () => {
    const sandbox = await makeSandbox();
    const dir = await bundleIn(sandbox);
    const r = await runCli(["export", dir, "-o", join(sandbox.dir, "raw.tar.gz"), "--no-redact"], { sandbox });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("forensics: --no-redact: the archive holds the captures as recorded, secrets included");
    expect(r.stdout).toMatch(/\nnot redacted \(--no-redact\)$/);
  });

  it("--help teaches: what is checked, exit statuses, examples", async () => {
    for (const command of ["export", "verify"]) {
      const r = await runCli([command, "--help"]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(/Exit status: 0 /);
      expect(r.stdout).toMatch(new RegExp(`Examples:\\n {2}forensics ${command} `));
    }
  });
});

describe("the private extraction directory", () => {
  it("is removed when the process exits without closing the bundle", async () => {
    const sandbox = await makeSandbox();
    const dir = await bundleIn(sandbox);
    const archive = join(sandbox.dir, "b.tar.gz");
    expect((await runCli(["export", dir, "-o", archive], { sandbox })).exitCode).toBe(0);
    const script = `const { openBundle } = await import(${JSON.stringify(join(root, "dist/src/bundle/archive.js"))});
      const b = await openBundle(${JSON.stringify(archive)});
      const { readdirSync } = await import("node:fs");
      console.log(readdirSync(process.env.TMPDIR).length, b.trials.length);
      process.exit(0);`;
    const r = await execa(process.execPath, ["--input-type=module", "-e", script], { env: { TMPDIR: sandbox.tmp }, reject: false });
    expect(r.stdout).toBe("1 24");
    expect(await readdir(sandbox.tmp)).toEqual([]);
  });
});

describe("a bundle the harness just wrote (real run)", () => {
  it("run → export → verify OK", async () => {
    const sandbox = await makeSandbox();
    const run = await runCli(["run", "sigterm-race", "--init", "none", "--offsets", "0", "--strace", "on", "--json", "--out", sandbox.out], { sandbox, timeout: 110_000 });
    expect(run.exitCode, run.stderr).toBe(0);
    const dir = (JSON.parse(run.stdout) as { bundle: string }).bundle;
    const out = join(sandbox.dir, "run.tar.gz");
    const exported = await runCli(["export", dir, "-o", out, "--strip-host"], { sandbox });
    expect(exported.exitCode, exported.stderr).toBe(0);
    const verified = await runCli(["verify", out], { sandbox });
    expect(verified.exitCode, verified.stdout).toBe(0);
    expect(verified.stdout).toMatch(new RegExp(`^OK .*: schema ${SCHEMA_VERSION}, complete, \\d+ files match their sha256, nothing unlisted; redacted \\(host names and home stripped\\): `));
  });
});
