// gdb from the host against the real signotify probe: as PID 1 of a namespace container
// (attached at the gate's release, following its execve) and as a plain host process.
// A missing prerequisite (gdb, Go, namespaces) skips on a laptop and fails under CI=true.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { createGdbObserver } from "../../src/capture/gdb.js";
import { attachGdb, type GdbSession } from "../../src/capture/gdb-session.js";
import { snapshot } from "../../src/capture/gdb-snapshot.js";
import { resolveTool } from "../../src/capture/tools.js";
import { isHarnessError } from "../../src/errors.js";
import type { GoRuntimeReading } from "../../src/evidence/go-runtime.js";
import { parseGdbText } from "../../src/parse/gdb.js";
import { buildProbe, type BuiltProbe } from "../../src/probe/build.js";
import { runCleanups } from "../../src/cleanup.js";
import { launchers } from "../../src/probe/launchers.js";
import { createRuntime } from "../../src/runtime/index.js";
import { isAlive } from "../../src/runtime/procfs.js";
import { forensicsTmp } from "../../src/runtime/run-dir.js";
import { GATE_PATH } from "../../src/runtime/runtime.js";

const CI = process.env.CI === "true";
const VITE_NODE = fileURLToPath(new URL("../../node_modules/vite-node/vite-node.mjs", import.meta.url));
const ATTACH_PID = fileURLToPath(new URL("../fixtures/gdb/attach-pid.ts", import.meta.url));
const SIGUSR1_BREAK = "runtime.sighandler if sig == 10";
const runtime = createRuntime("namespace", launchers);

async function unavailable(): Promise<string | null> {
  if (CI) return null;
  try {
    await resolveTool("gdb");
    await runtime.preflight();
    return null;
  } catch (err) {
    return isHarnessError(err) ? err.message : String(err);
  }
}

const skipped = await unavailable();

/** The status line of /proc/PID/status, e.g. State, TracerPid, ShdPnd. */
async function procStatus(pid: number, field: string): Promise<string> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return status.match(new RegExp(`^${field}:\\s*(.*)$`, "m"))?.[1] ?? "";
}

const read = (r: GoRuntimeReading) => {
  if (r.kind !== "read") throw new Error(`no runtime reading: ${r.reason}`);
  return r;
};

/** The probe's stdout said it subscribed and started its workers. */
async function waitReady(stdout: () => Promise<string>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await stdout()).includes('"ev":"ready"')) {
    if (Date.now() > deadline) throw new Error(`probe not ready: ${await stdout()}`);
    await sleep(50);
  }
}

describe.skipIf(skipped !== null)("gdb session", () => {
  let probe: BuiltProbe, gate: BuiltProbe, driver: BuiltProbe;
  let dir: string;
  const runId = `gdb-${process.pid}-${Date.now().toString(36)}`;

  beforeAll(async () => {
    [probe, gate, driver] = await Promise.all([buildProbe("signotify"), buildProbe("gate"), buildProbe("driver")]);
    dir = await mkdtemp(join(tmpdir(), "forensics-gdb-"));
  });
  afterAll(async () => {
    await runCleanups();
    await rm(dir, { recursive: true, force: true });
    // The run dir itself goes when its harness exits; vitest may end this worker abruptly.
    await rm(join(forensicsTmp(), runId), { recursive: true, force: true });
  });

  /** The probe as a plain host process, killed after the test. */
  async function hostProbe(): Promise<{ child: ChildProcess; pid: number }> {
    const child = spawn(probe.path, [], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    onTestFinished(() => {
      child.kill("SIGKILL");
    });
    await waitReady(async () => out);
    return { child, pid: child.pid! };
  }

  it("follows the gate into PID 1 of a namespace container and sees SIGUSR1 go through sig.mask; detach leaves it running", async () => {
    const container = await runtime.create({
      runId,
      trialId: "t0",
      image: { files: [{ hostPath: gate.path, path: GATE_PATH }, { hostPath: probe.path, path: "/probe" }] },
      command: ["/probe"],
      env: {},
      init: "none",
    });
    onTestFinished(() => container.remove());
    await container.start();
    const pid = container.pid();
    const attachment = await createGdbObserver({ attachAtRelease: true }).attach({
      gatePid: await container.gatePid(),
      pid1: pid,
      programPath: `/proc/${pid}/root/probe`,
      signals: [10],
      dir,
      trialId: "t0",
    });
    onTestFinished(() => attachment.detach());
    await execa(driver.path, ["-fifo", container.gateFifoHostPath(), "-kill-pid", String(pid)]);
    await waitReady(async () => (await container.logs()).stdout);

    const session = await attachment.session();
    await session.interrupt();
    const before = read((await snapshot(session, pid)).runtime);
    expect(before.sig).toMatchObject({ mask: [], wanted: ["SIGUSR1", "SIGTERM"], state: "receiving", inuse: true });
    expect(before.handlers).toEqual({ SIGUSR1: 1, SIGTERM: 1 });
    // m.procid is gettid() as the program sees it, in its own PID namespace; gdb's LWP is the host's.
    // Which stack it is on is the scheduler's choice: idle on g0, or running a goroutine that
    // blocks in a futex on its own stack (os/signal's receiver in signal_recv) — seen in CI.
    const main = before.threads.find((t) => t.lwp === pid);
    expect(main).toMatchObject({ procid: 1, on: expect.stringMatching(/^(g0|goroutine)$/) });

    setTimeout(() => void container.signal("SIGUSR1"), 200);
    const hit = await session.continueUntilBreakpoint(SIGUSR1_BREAK, { timeoutMs: 5_000 });
    expect(hit.kind).toBe("hit");
    const inHandler = await snapshot(session, pid);
    const handling = parseGdbText(hit.text).find((r) => r.kind === "breakpoint-hit");
    expect(read(inHandler.runtime).threads.find((t) => t.thread === handling?.thread)?.on).toBe("gsignal");

    // Only the handling thread runs through runtime.sigsend: os/signal's receiver, woken
    // by it, cannot take the signal before we look.
    await session.run("delete");
    await session.run("set scheduler-locking on");
    expect((await session.continueUntilBreakpoint("runtime.sigsend", { timeoutMs: 5_000 })).kind).toBe("hit");
    await session.run("finish");
    const queued = read((await snapshot(session, pid)).runtime);
    expect(queued.sig).toMatchObject({ mask: ["SIGUSR1"], recv: [], state: "idle" });
    await session.run("set scheduler-locking off");
    await session.run("delete");
    // Once the receiver runs, os/signal's loop takes the signal: the queue is empty again.
    expect((await session.continueUntilBreakpoint("'os/signal.process'", { timeoutMs: 5_000 })).kind).toBe("hit");
    await session.run("delete");
    const drained = read((await snapshot(session, pid)).runtime);
    expect(drained.sig).toMatchObject({ mask: [], recv: [], wanted: ["SIGUSR1", "SIGTERM"] });

    await attachment.detach();
    expect(session.alive()).toBe(false);
    expect(await isAlive(pid)).toBe(true);
    expect(await procStatus(pid, "TracerPid")).toBe("0");
    // Running and handling signals: a new SIGUSR1 does not stay pending as it would in a stopped process.
    await container.signal("SIGUSR1");
    await sleep(300);
    expect(BigInt(`0x${await procStatus(pid, "ShdPnd")}`) & (1n << 9n)).toBe(0n);
    expect(await procStatus(pid, "State")).toMatch(/^S/);
    const log = await readFile(join(dir, "gdb.log"), "utf8");
    expect(log).toMatch(/process \d+ is executing new program: .*probe/);
    expect(parseGdbText(log).filter((r) => r.kind === "unparsed")).toEqual([]);
  });

  it("ends a continue within its bound when the target is SIGKILLed, with an exited record", async () => {
    const { pid } = await hostProbe();
    const session = await attachGdb(pid, { logPath: join(dir, "killed.log") });
    onTestFinished(() => session.detach());
    // Killed once it runs again, i.e. after gdb has inserted its breakpoint and resumed it.
    void (async () => {
      while (!/^S/.test(await procStatus(pid, "State"))) await sleep(10);
      process.kill(pid, "SIGKILL");
    })().catch(() => undefined);
    const started = Date.now();
    const outcome = await session.continueUntilBreakpoint(SIGUSR1_BREAK, { timeoutMs: 10_000 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(outcome.kind, outcome.text).toBe("exited");
    expect(parseGdbText(outcome.text)).toContainEqual({ kind: "exited", pid: null, exitCode: null, signal: "SIGKILL" });
    // The session still answers, and detaching from nothing is not an error.
    expect(await session.run("info threads")).toMatch(/No threads/);
    await session.detach();
  });

  it("bounds a command that does not return: interrupted, the session still usable", async () => {
    const { pid } = await hostProbe();
    const session: GdbSession = await attachGdb(pid, { logPath: join(dir, "hung.log") });
    onTestFinished(() => session.detach());
    const started = Date.now();
    await expect(session.run("continue", { timeoutMs: 500 })).rejects.toMatchObject({ code: "TRIAL_FAILED", message: /did not finish within 500 ms \(interrupted\)/ });
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(await session.run("p 'runtime.sig'.inuse")).toBe("$1 = true\n");
    await session.detach();
    expect(await isAlive(pid)).toBe(true);
  });

  it("detaches through the cleanup registry (what Ctrl-C runs), even in the middle of a continue", async () => {
    const { pid } = await hostProbe();
    const session = await attachGdb(pid, { logPath: join(dir, "cleanup.log") });
    await session.resume();
    await runCleanups();
    expect(session.alive()).toBe(false);
    expect(await isAlive(pid)).toBe(true);
    expect(await procStatus(pid, "TracerPid")).toBe("0");
  });

  it("refuses a second tracer with PTRACE_DENIED", async () => {
    const { pid } = await hostProbe();
    const first = await attachGdb(pid, { logPath: join(dir, "first.log") });
    onTestFinished(() => first.detach());
    await expect(attachGdb(pid, { logPath: join(dir, "second.log") })).rejects.toMatchObject({ code: "PTRACE_DENIED" });
  });

  it("says MISSING_TOOL with the install command when gdb is not on PATH", async () => {
    // node itself runs vite-node: a PATH without gdb has no node either.
    const result = await execa(process.execPath, [VITE_NODE, ATTACH_PID, String(process.pid)], { env: { PATH: "/nonexistent" }, extendEnv: false });
    expect(result.stdout).toMatch(/^MISSING_TOOL gdb not found on PATH: apt-get install -y gdb/);
  });
});
