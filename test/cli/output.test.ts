// Where the bundle cannot be written, through the built CLI: --out under /proc, on a regular
// file, on a read-only mount, on a full disk (a tiny tmpfs mounted here). Each ends fast with
// exit 75 and one line naming the path and the cause; a bundle cut short by a full disk says
// so in its manifest and holds no temp file. And a reader that goes away (`| head`) ends any
// command quietly, as SIGPIPE ends ls.

import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it, onTestFinished, type TestContext } from "vitest";
import { readBundle } from "../../src/bundle/read.js";
import { expectNothingLeft } from "../support/leftovers.js";
import { missingRoot, skipUnlessCI } from "../support/prereq.js";
import { bundlesIn, ensureBuilt, expectNoCompleteBundle, expectOneErrorLine, makeSandbox, root, runCli, startCli, type Sandbox } from "./cli.js";

beforeAll(ensureBuilt);

/** One quick trial: no strace, one offset well after Notify. */
const QUICK = ["run", "sigterm-race", "--init", "none", "--strace", "off", "--offsets", "500000"];

/** A tmpfs of `size` at a fresh dir, unmounted when the test ends; `ro` makes it read-only. */
async function mountTmpfs(ctx: TestContext, options: string): Promise<string> {
  skipUnlessCI(ctx, missingRoot());
  const dir = await mkdtemp(join(tmpdir(), "forensics-out-test-"));
  await execa("mount", ["-t", "tmpfs", "-o", options, "forensics-out-test", dir]);
  onTestFinished(async () => {
    await execa("umount", [dir], { reject: false });
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Every file under dir, relative. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

async function runQuick(sandbox: Sandbox, out: string) {
  const r = await runCli([...QUICK, "--out", out], { sandbox, timeout: 60_000 });
  expect(r.timedOut, r.stderr).toBe(false);
  await expectNothingLeft({ pid: r.pid, sandbox });
  return r;
}

describe("--out that cannot hold a bundle", () => {
  it("under /proc: exit 75 at once, one line naming the path (not a spin in mkdir)", async () => {
    const sandbox = await makeSandbox();
    const r = await runQuick(sandbox, "/proc/forbidden/traces");
    expect(r.exitCode, r.stderr).toBe(75);
    expect(r.durationMs).toBeLessThan(30_000);
    const line = expectOneErrorLine(r.stderr, { progress: true });
    expect(line).toMatch(/cannot create \/proc\/forbidden: the file system of \/proc does not allow new directories/);
    expect(r.stdout).toBe("");
  });

  it("a regular file: exit 75, one line saying it is not a directory", async () => {
    const sandbox = await makeSandbox();
    const file = join(sandbox.dir, "a-file");
    await writeFile(file, "not a directory\n");
    const r = await runQuick(sandbox, join(file, "traces"));
    expect(r.exitCode, r.stderr).toBe(75);
    const line = expectOneErrorLine(r.stderr, { progress: true });
    expect(line).toContain(`${file} is not a directory (ENOTDIR)`);
  });

  it("a read-only mount: exit 75, EROFS (not a misleading ENOENT)", async (ctx) => {
    const ro = await mountTmpfs(ctx, "ro,size=64k");
    const sandbox = await makeSandbox();
    const r = await runQuick(sandbox, join(ro, "traces"));
    expect(r.exitCode, r.stderr).toBe(75);
    const line = expectOneErrorLine(r.stderr, { progress: true });
    expect(line).toContain(`cannot write ${join(ro, "traces")}: read-only file system (EROFS)`);
  });
});

describe("a disk that fills up during the run", () => {
  it("no room for the evidence: exit 75, the manifest says why, no temp file is left", async (ctx) => {
    // Four pages: the manifest and two raw files fit, the trial's evidence does not.
    const out = await mountTmpfs(ctx, "size=16k");
    const sandbox = await makeSandbox();
    const r = await runQuick(sandbox, out);
    expect(r.exitCode, r.stderr).toBe(75);
    const line = expectOneErrorLine(r.stderr, { progress: true });
    // The first evidence file written: a trial's records (evidence/<variant>/<trial>/…) or evidence.json.
    expect(line).toMatch(/cannot write \/\S+\/evidence(\.json|\/\S+): no space left on device \(ENOSPC\)/);
    const [bundle] = await expectNoCompleteBundle(out);
    expect(bundle!.manifest.reason).toMatch(/evidence(\.json|\/\S+): no space left on device/);
    expect(await filesUnder(bundle!.dir)).not.toContainEqual(expect.stringMatching(/\.tmp$/));
    // What the manifest lists is there, with the hashes it names.
    const read = await readBundle(bundle!.dir).catch((err: Error) => err);
    expect(read instanceof Error ? read.message : "").not.toMatch(/sha256|hash/i);
  });

  it("no room for a raw capture: exit 75 with one line, the manifest says no space left", async (ctx) => {
    // One page: the first manifest takes it.
    const out = await mountTmpfs(ctx, "size=4k");
    const sandbox = await makeSandbox();
    const r = await runQuick(sandbox, out);
    expect(r.exitCode, r.stderr).toBe(75);
    const line = expectOneErrorLine(r.stderr, { progress: true });
    expect(line).toMatch(/no space left on device \(ENOSPC\)/);
    const [bundle] = await expectNoCompleteBundle(out);
    expect(bundle!.manifest.reason).toMatch(/no space left on device/);
    expect(await filesUnder(bundle!.dir)).not.toContainEqual(expect.stringMatching(/\.tmp$/));
  });
});

describe("a reader that goes away", () => {
  /** Runs the CLI with its stdout read end closed before it writes: exit 141, stderr silent. */
  async function closedStdout(args: string[], sandbox: Sandbox): Promise<{ exitCode: number | undefined; stderr: string; pid: number }> {
    const cli = startCli(args, { sandbox, timeout: 60_000 });
    cli.child.stdout!.destroy();
    const r = await cli.done;
    return { exitCode: r.exitCode, stderr: r.stderr, pid: r.pid };
  }

  it.each([["list"], ["doctor"], ["--help"], ["parse", "strace", "test/fixtures/strace/go-sigterm-threads.log"]])("%s: exit 141, nothing on stderr", async (...args) => {
    const sandbox = await makeSandbox();
    const r = await closedStdout(args, sandbox);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(141);
  });

  it("parse --json | head -c 10 (an 87 KB document): exit 141 for the CLI, head got its 10 bytes", async () => {
    const r = await execa("bash", ["-c", 'node bin/forensics.js parse strace test/fixtures/strace/go-sigterm-threads.log --json | head -c 10; echo " ${PIPESTATUS[0]}"'], { cwd: root, reject: false });
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^.{10} 141$/);
  });

  it("run --json whose reader left: the bundle is complete, exit 141, nothing left", async () => {
    const sandbox = await makeSandbox();
    const r = await closedStdout([...QUICK, "--json", "--out", sandbox.out], sandbox);
    expect(r.exitCode, r.stderr).toBe(141);
    expect(r.stderr).not.toMatch(/^forensics: /m);
    const [bundle, ...more] = await bundlesIn(sandbox.out);
    expect(more).toEqual([]);
    expect(bundle!.manifest.status).toBe("complete");
    await expectNothingLeft({ pid: r.pid, sandbox });
  });
});
