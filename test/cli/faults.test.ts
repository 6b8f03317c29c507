// Harness faults through the built CLI: a Docker engine that does not answer, a host
// without strace or without Go, a Go toolchain that does not exist. Each fails fast with
// its exit status and one line naming the fix, starts nothing, and leaves no bundle that
// passes for complete. Hosts are made to lack a tool without touching the real one: a PATH
// of links to everything but strace; a private mount namespace hiding /usr/local/go.

import { existsSync } from "node:fs";
import { cp, mkdir, readdir, readFile, symlink } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { expectNothingLeft } from "../support/leftovers.js";
import { missingRoot, skipUnlessCI } from "../support/prereq.js";
import { ensureBuilt, expectNoCompleteBundle, expectOneErrorLine, GO_BIN_DIR, makeSandbox, root, runCli, type Sandbox } from "./cli.js";

beforeAll(ensureBuilt);

const hostPath = (): string[] => [GO_BIN_DIR, ...(process.env.PATH ?? "").split(delimiter)].filter(Boolean);

/** A dir of links to every program on the host's PATH (Go's bin dir included) except `omit`. */
async function pathWithout(sandbox: Sandbox, omit: string[]): Promise<string> {
  const bin = join(sandbox.dir, "bin");
  await mkdir(bin);
  const linked = new Set<string>();
  for (const dir of hostPath()) {
    for (const name of await readdir(dir).catch((): string[] => [])) {
      if (omit.includes(name) || linked.has(name)) continue;
      linked.add(name);
      await symlink(join(dir, name), join(bin, name));
    }
  }
  for (const name of omit) expect(existsSync(join(bin, name))).toBe(false);
  return bin;
}

describe("Docker engine down", () => {
  it("--runtime docker with DOCKER_HOST naming nothing exits 70 fast, saying how to start it or to use --runtime namespace", async () => {
    const sandbox = await makeSandbox();
    const r = await runCli(["run", "sigterm-race", "--runtime", "docker", "--out", sandbox.out], { sandbox, env: { DOCKER_HOST: "tcp://127.0.0.1:1" } });
    expect(r.exitCode).toBe(70);
    expect(r.durationMs).toBeLessThan(15_000);
    const line = expectOneErrorLine(r.stderr, { progress: true });
    expect(line).toMatch(/Docker engine not reachable at .*127\.0\.0\.1:1/);
    expect(line).toMatch(/dockerd|systemctl start docker/);
    expect(line).toContain("--runtime namespace");
    expect(r.stdout).toBe("");
    await expectNoCompleteBundle(sandbox.out);
    await expectNothingLeft({ pid: r.pid, sandbox });
  });
});

describe("strace missing", () => {
  it("exits 69 naming `apt-get install -y strace`; with --strace off the same host runs (strace is needed only when used)", async () => {
    const sandbox = await makeSandbox();
    const PATH = await pathWithout(sandbox, ["strace"]);
    expect(existsSync(join(PATH, "go")), "Go stays on this PATH").toBe(true);

    const r = await runCli(["run", "sigterm-race", "--init", "none", "--out", sandbox.out], { sandbox, env: { PATH } });
    expect(r.exitCode).toBe(69);
    const line = expectOneErrorLine(r.stderr, { progress: true });
    expect(line).toMatch(/strace not found/);
    expect(line).toContain("apt-get install -y strace");
    expect(r.stdout).toBe("");
    await expectNoCompleteBundle(sandbox.out);
    await expectNothingLeft({ pid: r.pid, sandbox });

    const off = await runCli(["run", "sigterm-race", "--init", "none", "--strace", "off", "--offsets", "0,500000", "--json", "--out", sandbox.out], {
      sandbox,
      env: { PATH },
    });
    expect(off.exitCode, off.stderr).toBe(0);
    const doc = JSON.parse(off.stdout) as { bundle: string; trials: { strace: boolean }[] };
    expect(doc.trials.map((t) => t.strace)).toEqual([false, false]);
    await expectNothingLeft({ pid: off.pid, sandbox });
  });
});

describe("mkfifo missing", () => {
  it("exits 69 with one line naming mkfifo and coreutils, and leaves nothing", async () => {
    const sandbox = await makeSandbox();
    const PATH = await pathWithout(sandbox, ["mkfifo"]);
    const r = await runCli(["run", "sigterm-race", "--init", "none", "--strace", "off", "--offsets", "500000", "--out", sandbox.out], { sandbox, env: { PATH } });
    expect(r.exitCode, r.stderr).toBe(69);
    const line = expectOneErrorLine(r.stderr, { progress: true });
    expect(line).toBe("forensics: mkfifo not found on PATH: install coreutils (apt-get install -y coreutils)");
    await expectNoCompleteBundle(sandbox.out);
    await expectNothingLeft({ pid: r.pid, sandbox });
  });
});

describe("Go missing", () => {
  it("with no go on PATH and /usr/local/go hidden, exits 69 with one line naming Go", async (ctx) => {
    // Hiding /usr/local/go takes a private mount namespace: root and util-linux unshare.
    skipUnlessCI(ctx, missingRoot() ?? ((await execa("unshare", ["--mount", "true"], { reject: false })).exitCode === 0 ? null : "unshare(1) --mount, to hide Go"));
    const sandbox = await makeSandbox();
    const PATH = hostPath()
      .filter((d) => !existsSync(join(d, "go")))
      .join(delimiter);
    // Propagation is private under unshare(1): the tmpfs is seen by this process tree only.
    const hide = '[ ! -d /usr/local/go ] || mount -t tmpfs -o size=1m,mode=0755 forensics-test-no-go /usr/local/go; exec "$@"';
    const r = await runCli(["run", "sigterm-race", "--init", "none", "--out", sandbox.out], {
      sandbox,
      env: { PATH },
      wrap: ["unshare", "--mount", "--", "sh", "-c", hide, "sh"],
    });
    expect(r.exitCode, r.stderr).toBe(69);
    const line = expectOneErrorLine(r.stderr, { progress: true });
    expect(line).toMatch(/\bgo not found\b/);
    expect(line).toMatch(/install Go/);
    await expectNoCompleteBundle(sandbox.out);
    await expectNothingLeft({ pid: r.pid, sandbox });
  });

  it("with no go on PATH, falls back to /usr/local/go/bin/go and runs", async (ctx) => {
    skipUnlessCI(ctx, existsSync(join(GO_BIN_DIR, "go")) ? null : "Go installed at /usr/local/go");
    const sandbox = await makeSandbox();
    const PATH = hostPath()
      .filter((d) => !existsSync(join(d, "go")))
      .join(delimiter);
    const r = await runCli(["run", "sigterm-race", "--init", "none", "--strace", "off", "--offsets", "500000", "--out", sandbox.out], { sandbox, env: { PATH } });
    expect(r.exitCode, r.stderr).toBe(0);
    await expectNothingLeft({ pid: r.pid, sandbox });
  });
});

describe("a Go toolchain that does not exist", () => {
  it("--go 1.99.0 (well formed, never released) exits 73 (GO_BUILD_FAILED) with one line, fast", async () => {
    const sandbox = await makeSandbox();
    const r = await runCli(["run", "sigterm-race", "--init", "none", "--go", "1.99.0", "--out", sandbox.out], { sandbox, timeout: 60_000 });
    expect(r.timedOut).toBe(false);
    expect(r.exitCode, r.stderr).toBe(73);
    expect(r.durationMs).toBeLessThan(30_000);
    const line = expectOneErrorLine(r.stderr, { progress: true });
    expect(line).toMatch(/go1\.99\.0/);
    expect(r.stdout).toBe("");
    // The build comes before the bundle: nothing was written.
    expect(await expectNoCompleteBundle(sandbox.out)).toEqual([]);
    await expectNothingLeft({ pid: r.pid, sandbox });
  });
});

describe("an install without go-probes/", () => {
  it("still parses and says its version; run exits 69 with one line naming go-probes/ (no stack trace at start-up)", async () => {
    const sandbox = await makeSandbox();
    const install = join(sandbox.dir, "install");
    await mkdir(install);
    for (const part of ["package.json", "bin", "dist"]) await cp(join(root, part), join(install, part), { recursive: true });
    await symlink(join(root, "node_modules"), join(install, "node_modules"));
    const cli = (args: string[]) =>
      execa(process.execPath, [join(install, "bin", "forensics.js"), ...args], { cwd: sandbox.dir, env: { TMPDIR: sandbox.tmp }, reject: false, timeout: 60_000 });

    const version = await cli(["--version"]);
    expect([version.exitCode, version.stdout.trim()]).toEqual([0, JSON.parse(await readFile(join(root, "package.json"), "utf8")).version]);
    const parsed = await cli(["parse", "strace", join(root, "test", "fixtures", "strace", "tricky.log")]);
    expect(parsed.exitCode).toBe(0);
    expect(parsed.stdout).toMatch(/records from 1 file, 0 unparsed$/);

    const r = await cli(["run", "sigterm-race", "--out", sandbox.out]);
    expect(r.exitCode).toBe(69);
    expect(expectOneErrorLine(String(r.stderr), { progress: true })).toMatch(/go-probes\/go\.mod not found .*reinstall forensics/);
    await expectNoCompleteBundle(sandbox.out);
  });
});
