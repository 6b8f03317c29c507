// Ctrl-C and SIGTERM in the middle of a real run, through the built CLI: it exits 130/143
// within seconds, says it is stopping, leaves a bundle marked partial ("interrupted") whose
// files match their hashes, and nothing else: no process, container, tracer or trial dir.
// SIGINT is aimed at a moment the driver runs: execa's signal-exit listens for signals
// while a child runs, and once re-raised the signal and killed the CLI before its cleanups.

import { spawn } from "node:child_process";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Docker from "dockerode";
import { execa } from "execa";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { readBundle } from "../../src/bundle/read.js";
import { LABELS } from "../../src/runtime/docker.js";
import { expectNothingLeft, findLeftovers } from "../support/leftovers.js";
import { CI, dockerReachable, missingDocker, skipUnlessCI } from "../support/prereq.js";
import { ensureBuilt, GO_BIN_DIR, makeSandbox, startCli, type RunningCli, type Sandbox } from "./cli.js";

beforeAll(ensureBuilt);

const readText = (path: string): Promise<string | null> => readFile(path, "utf8").catch(() => null);

/** The CLI's running `driver` child, if any (children of every thread, as the kernel lists them). */
async function driverChild(pid: number): Promise<number | null> {
  for (const tid of await readdir(`/proc/${pid}/task`).catch((): string[] => [])) {
    for (const child of ((await readText(`/proc/${pid}/task/${tid}/children`)) ?? "").split(/\s+/).filter(Boolean)) {
      const argv0 = ((await readText(`/proc/${child}/cmdline`)) ?? "").split("\0")[0] ?? "";
      if (basename(argv0) === "driver") return Number(child);
    }
  }
  return null;
}

async function waitFor(what: string, cli: RunningCli, ready: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void cli.done.then(() => (exited = true));
  while (!(await ready())) {
    if (exited) throw new Error(`the CLI exited before ${what}; stderr:\n${cli.stderr()}`);
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms; stderr:\n${cli.stderr()}`);
    await sleep(1);
  }
}

interface Interrupted {
  exitCode: number | undefined;
  signal: string | undefined;
  stderr: string;
  /** From the signal to the CLI's exit. */
  stopMs: number;
  pid: number;
}

async function interruptRun(sandbox: Sandbox, signal: NodeJS.Signals, args: string[], options: { atDriver: boolean }): Promise<Interrupted> {
  const cli = startCli(["run", "sigterm-race", "--out", sandbox.out, ...args], { sandbox, timeout: 120_000 });
  onTestFinished(() => void cli.child.kill("SIGKILL"));
  await waitFor("first trial line", cli, () => /^\[ {2}1\] /m.test(cli.stderr()), 90_000);
  if (options.atDriver) await waitFor("driver child", cli, async () => (await driverChild(cli.pid)) !== null, 20_000);
  const sent = Date.now();
  process.kill(cli.pid, signal);
  const r = await cli.done;
  return { exitCode: r.exitCode, signal: r.signal, stderr: r.stderr, stopMs: Date.now() - sent, pid: r.pid };
}

async function expectStoppedCleanly(sandbox: Sandbox, r: Interrupted, signal: "SIGINT" | "SIGTERM", docker: boolean): Promise<void> {
  expect(r.signal, "the CLI exits by itself, not by the signal").toBeUndefined();
  expect(r.exitCode, r.stderr).toBe(signal === "SIGINT" ? 130 : 143);
  expect(r.stopMs).toBeLessThan(5_000);

  // One report line, saying it stops; no trial reported after it, no stack, no second error.
  const lines = r.stderr.split("\n").filter((l) => l.trim() !== "");
  const reports = lines.filter((l) => l.startsWith("forensics: "));
  expect(reports, r.stderr).toEqual([expect.stringMatching(new RegExp(`^forensics: ${signal}: stopping`))]);
  expect(lines.at(-1)).toBe(reports[0]);
  expect(r.stderr).not.toMatch(/internal error|^\s+at .+:\d+:\d+\)?$/im);
  const trialLines = lines.filter((l) => /^\[\s*\d+\] /.test(l));

  // The bundle: partial, says why, its files match their hashes, and holds exactly the
  // trials reported as done (a trial torn down by the shutdown is not evidence).
  const names = await readdir(sandbox.out);
  expect(names).toHaveLength(1);
  const bundle = await readBundle(join(sandbox.out, names[0]!));
  expect(bundle.manifest.status).toBe("partial");
  expect(bundle.manifest.reason).toMatch(/interrupted/);
  expect(bundle.trials.length).toBe(trialLines.length);
  expect(bundle.trials.length).toBeGreaterThanOrEqual(1);
  expect(bundle.findings.findings).toEqual([]);

  await expectNothingLeft({ pid: r.pid, sandbox, docker });
}

describe("interrupting forensics run", () => {
  it("SIGINT while the driver runs (namespace, default inits): exit 130, partial bundle, nothing left", async () => {
    const sandbox = await makeSandbox();
    const r = await interruptRun(sandbox, "SIGINT", [], { atDriver: true });
    await expectStoppedCleanly(sandbox, r, "SIGINT", false);
  });

  it("SIGTERM after the first trial (namespace): exit 143, partial bundle, nothing left", async () => {
    const sandbox = await makeSandbox();
    const r = await interruptRun(sandbox, "SIGTERM", [], { atDriver: false });
    await expectStoppedCleanly(sandbox, r, "SIGTERM", false);
  });

  it("SIGINT while the driver runs (docker): exit 130, containers removed", async (ctx) => {
    skipUnlessCI(ctx, await missingDocker());
    const sandbox = await makeSandbox();
    const r = await interruptRun(sandbox, "SIGINT", ["--runtime", "docker", "--init", "none,docker-init"], { atDriver: true });
    await expectStoppedCleanly(sandbox, r, "SIGINT", true);
  });
});

describe("interrupting a probe build", () => {
  it("Ctrl-C (SIGINT to the process group) while go builds: exit 130, no Go work dir, no compiler left running", async () => {
    const sandbox = await makeSandbox();
    // An empty probe cache forces the builds; Go's own build cache stays the host's, so the
    // compiler has little to do and the test little to wait for.
    const { stdout: gocache } = await execa(join(GO_BIN_DIR, "go"), ["env", "GOCACHE"]);
    const cli = startCli(["run", "sigterm-race", "--init", "none", "--strace", "off", "--out", sandbox.out], {
      sandbox,
      env: { XDG_CACHE_HOME: join(sandbox.dir, "cache"), GOCACHE: gocache.trim() },
      timeout: 120_000,
      // Its own process group, which the Ctrl-C below reaches whole, as a terminal's does.
      wrap: ["setsid"],
    });
    onTestFinished(() => void cli.child.kill("SIGKILL"));
    // go creates its work dir (go-build…) under GOTMPDIR, or TMPDIR without one.
    const goWorkDirs = async () => (await readdir(sandbox.tmp, { recursive: true })).filter((p) => basename(p).startsWith("go-build"));
    await waitFor("a Go work dir", cli, async () => (await goWorkDirs()).length > 0, 60_000);
    process.kill(-cli.pid, "SIGINT");
    const r = await cli.done;
    expect(r.exitCode, r.stderr).toBe(130);
    const reports = r.stderr.split("\n").filter((l) => l.startsWith("forensics: "));
    expect(reports, r.stderr).toEqual([expect.stringMatching(/^forensics: SIGINT: stopping/)]);
    expect(await goWorkDirs()).toEqual([]);
    await expectNothingLeft({ pid: r.pid, sandbox });
  });
});

describe("the leftover check", () => {
  it("finds (and removes) what a dead CLI would leave: labelled and sandbox processes, run dirs, containers", async () => {
    const sandbox = await makeSandbox();
    const owner = 4_000_000 + (process.pid % 100_000); // above any pid_max: no real process
    const runId = "sigterm-race-20000101T000000Z-abcdef";
    await mkdir(join(sandbox.out, runId), { recursive: true });
    await mkdir(join(sandbox.tmp, "forensics", runId), { recursive: true });
    const planted = [
      spawn("sleep", ["30"], { env: { FORENSICS_OWNER: String(owner) }, stdio: "ignore" }),
      spawn("sleep", ["30"], { env: { FORENSICS_RUN: runId }, stdio: "ignore" }),
      spawn("sh", ["-c", "sleep 30", join(sandbox.tmp, "x")], { stdio: "ignore" }),
    ];
    onTestFinished(() => planted.forEach((p) => p.kill("SIGKILL")));

    let container: string | null = null;
    if (await dockerReachable()) {
      const docker = new Docker();
      const [image] = await docker.listImages({ filters: { label: ["forensics=1"] } });
      if (image) {
        const created = await docker.createContainer({ Image: image.Id, Entrypoint: ["/gate"], Labels: { [LABELS.owner]: String(owner) } });
        container = created.id;
        onTestFinished(() => created.remove({ force: true }).catch(() => {}));
      }
    }
    if (CI) expect(container, "CI=true: a forensics image to plant a container from").not.toBeNull();
    await sleep(100);

    const found = await findLeftovers({ pid: owner, sandbox });
    for (const p of planted) expect(found).toContainEqual(expect.stringMatching(new RegExp(`^process ${p.pid} `)));
    expect(found).toContainEqual(expect.stringMatching(/^run dir .*sigterm-race-20000101T000000Z-abcdef$/));
    if (container) expect(found).toContainEqual(expect.stringMatching(new RegExp(`^container ${container.slice(0, 12)} `)));
    await sleep(100);
    expect(await findLeftovers({ pid: owner, sandbox }), "found leftovers were removed").toEqual([]);
  });
});
