import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { GdbAttachment } from "../../src/capture/gdb.js";
import { attachGdb } from "../../src/capture/gdb-session.js";
import { snapshot } from "../../src/capture/gdb-snapshot.js";
import type { ObserverName } from "../../src/capture/observer.js";
import { isHarnessError } from "../../src/errors.js";
import { isAlive } from "../../src/runtime/procfs.js";
import { defineScenario, type SweepContext, type TrialHookContext } from "../../src/scenario/define.js";
import { programPid, waitForProbeEvent } from "../shared/hooks.js";
import { analyseInitStackTrial } from "./analysis.js";
import { INIT_STACK_CLAIMS, judgeS6 } from "./claims.js";
import { render } from "./render.js";
import type { InitStackRequest } from "./request.js";

// The seed's §4.4 repro, with records: the Go program (signotify) runs under tini or
// dumb-init; gdb stops it inside runtime.sighandler with a SIGUSR1 in flight; meanwhile
// `kill -CHLD 1` makes the init handle a signal. Then, per Go thread, $rsp against its g's,
// g0's and gsignal's stacks (gdb), where the init is ($rsp, pc, the syscall it sits in:
// /proc/PID/syscall, and a gdb backtrace of it), and both processes' /proc/PID/maps, saved
// as raw captures. With strace instead of gdb the same steps show every sigaltstack call
// and what the init did with SIGCHLD.

const READY_TIMEOUT_MS = 5_000;
const BREAK_TIMEOUT_MS = 4_000;
const GDB_TIMEOUT_MS = 10_000;
/** After `kill -CHLD 1`: time for the init to take it and go back to waiting. */
const CHLD_SETTLE_MS = 100;
const DEFAULT_BREAKPOINT = "runtime.sighandler";
const SIGUSR1 = 10;

export const RAW = { initMaps: "init-maps.txt", programMaps: "program-maps.txt", initSyscall: "init-syscall.txt", initGdb: "gdb-init.log" } as const;

function parseLocation(value: string): string {
  if (!/^[A-Za-z_][\w./'*]*$/.test(value)) throw new Error(`expected a function name such as runtime.sighandler, got "${value}"`);
  return value;
}

export default defineScenario<InitStackRequest>({
  name: "init-stack",
  summary: "kill -CHLD 1 while the Go program is stopped inside runtime.sighandler under tini/dumb-init: per-thread $rsp vs g0/gsignal/goroutine stacks, the init's own stack (S6)",
  help: `init-stack reports for every trial: for each Go thread, $rsp and which stack holds it
  (g0, gsignal, the goroutine's, or none), read by gdb while one thread is inside
  runtime.sighandler with a SIGUSR1; where PID 1 (the init) is after SIGCHLD: its $rsp, pc,
  the syscall it waits in and the mapping holding its stack; both processes' /proc/PID/maps
  (raw captures). With --observe strace: every sigaltstack call and the init's SIGCHLD path.`,
  claims: [INIT_STACK_CLAIMS.S6],
  probe: "signotify",
  targets: [],
  inits: ["tini", "dumb-init", "docker-init"],
  defaultInits: ["tini", "dumb-init"],
  observers: { supported: ["gdb", "strace"], defaultSets: [["gdb"], ["strace"]] },
  axes: {},
  options: {
    breakpoint: { flag: "--breakpoint <function>", description: `where gdb stops the Go program (default ${DEFAULT_BREAKPOINT}, with sig == SIGUSR1)`, parse: parseLocation },
  },
  signals: [SIGUSR1, 17],
  target: () => ({ args: ["-workers=3"], env: {}, files: [] }),
  sends: () => [],
  settleMs: () => 2_000,
  afterSends: chldWhileInHandler,

  async sweep(ctx: SweepContext<InitStackRequest>) {
    const breakpoint = (ctx.sweep.options.breakpoint as string | undefined) ?? DEFAULT_BREAKPOINT;
    for (const observers of ctx.sweep.observerSets) {
      for (let i = 0; i < ctx.sweep.trials; i++) {
        await ctx.runTrial({ observers: observers as ObserverName[], intent: `kill -CHLD 1 with the program in ${breakpoint}`, checkpoint: "sighandler", breakpoint });
      }
    }
  },

  render,
  analyse: (variant, trials) => [judgeS6(variant, trials.map(analyseInitStackTrial))],
});

const describeError = (err: unknown): string => (isHarnessError(err) ? `${err.code}: ${err.message}` : String(err));

async function chldWhileInHandler(ctx: TrialHookContext<InitStackRequest>): Promise<void> {
  const pid1 = ctx.pid1;
  const problems: string[] = [];
  try {
    const pid = await programPid(ctx.variant.init, ctx.gatePid);
    const ready = await waitForProbeEvent(ctx.container, "ready", READY_TIMEOUT_MS);
    await ctx.note("program", { pid, pid1, ready: ready !== null });
    if (pid === null || ready === null) {
      problems.push(pid === null ? "the program's PID was not found under the init" : `the probe did not report ready within ${READY_TIMEOUT_MS} ms`);
      return;
    }

    const gdb = ctx.attachments.gdb as GdbAttachment | undefined;
    const location = ctx.request.breakpoint ?? DEFAULT_BREAKPOINT;
    let session: Awaited<ReturnType<GdbAttachment["session"]>> | null = null;
    let inHandler = false;
    if (gdb) {
      try {
        session = await gdb.session(pid);
        // SIGUSR1 goes once gdb has the breakpoint in and lets the program run again.
        const sender = (async () => {
          await waitUntilRunning(pid, 3_000);
          await ctx.note("sigusr1", { to: pid });
          if (!signal(pid, "SIGUSR1")) throw new Error(`PID ${pid} is gone`);
        })().catch((err: unknown) => {
          problems.push(`SIGUSR1 not sent: ${String(err)}`);
        });
        const outcome = await session.continueUntilBreakpoint(`${location} if sig == ${SIGUSR1}`, { timeoutMs: BREAK_TIMEOUT_MS });
        await sender;
        inHandler = outcome.kind === "hit";
        await ctx.note("breakpoint", { location, outcome: outcome.kind });
        if (outcome.kind === "timeout") problems.push(`the breakpoint at ${location} was not hit within ${BREAK_TIMEOUT_MS} ms`);
        if (outcome.kind === "exited") problems.push(`the program exited while gdb held it, before the breakpoint at ${location}`);
        if (outcome.kind === "stopped") problems.push(`the program stopped for something else than the breakpoint at ${location}`);
      } catch (err) {
        problems.push(`gdb: ${describeError(err)}`);
      }
    } else {
      await ctx.note("sigusr1", { to: pid });
      if (!signal(pid, "SIGUSR1")) problems.push(`the program (PID ${pid}) was gone before SIGUSR1`);
    }

    // kill -CHLD 1, while (with gdb) the program sits in its signal handler.
    await ctx.note("sigchld", { to: pid1, programInHandler: inHandler });
    if (!signal(pid1, "SIGCHLD")) problems.push(`PID 1 (${pid1}) was gone before kill -CHLD 1 (an init ends with its child)`);
    await sleep(CHLD_SETTLE_MS);

    const [initSyscall, initMaps, programMaps, initComm] = await Promise.all([
      readProc(pid1, "syscall"),
      readProc(pid1, "maps"),
      readProc(pid, "maps"),
      readProc(pid1, "comm"),
    ]);
    await saveRaw(ctx.dir, { [RAW.initSyscall]: initSyscall, [RAW.initMaps]: initMaps, [RAW.programMaps]: programMaps }, problems);
    await ctx.note("init-state", { pid: pid1, comm: initComm?.trim() ?? null, syscall: initSyscall?.trim() ?? null, maps: initMaps, raw: [RAW.initSyscall, RAW.initMaps] });
    await ctx.note("program-state", { pid, maps: programMaps, raw: RAW.programMaps });

    if (gdb) {
      // The init's frame: a gdb of its own (one session per process), its transcript a raw capture.
      const initGdb = await readInitWithGdb(pid1, join(ctx.dir, RAW.initGdb)).catch((err: unknown) => {
        problems.push(`gdb on PID 1: ${describeError(err)}`);
        return null;
      });
      if (initGdb !== null) await ctx.note("init-gdb", { pid: pid1, text: initGdb, raw: RAW.initGdb });
    }

    if (session !== null && inHandler) {
      try {
        await snapshot(session, pid, { timeoutMs: GDB_TIMEOUT_MS });
        // The handling thread is gdb's current one again after the snapshot.
        await session.run("bt 12", { timeoutMs: GDB_TIMEOUT_MS });
        await session.run("delete", { timeoutMs: GDB_TIMEOUT_MS });
      } catch (err) {
        problems.push(`gdb snapshot: ${describeError(err)}`);
      }
    }
    if (gdb) await gdb.detach().catch(() => undefined);
    // The handler returns once gdb lets go: does the program run on?
    await sleep(100);
    await ctx.note("after", { pid, alive: await isAlive(pid), state: (await readProc(pid, "status"))?.match(/^State:\s*(.*)$/m)?.[1] ?? null });
  } finally {
    await ctx.note("checkpoint", { problems });
    await ctx.container.signal("SIGKILL");
  }
}

/** kill(2) that reports a process already gone (ESRCH) as false: a dead program is evidence, not a fault. */
function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw err;
  }
}

const readProc = (pid: number, file: string): Promise<string | null> => readFile(`/proc/${pid}/${file}`, "utf8").catch(() => null);

async function saveRaw(dir: string, files: Record<string, string | null>, problems: string[]): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    if (text === null) continue;
    await writeFile(join(dir, name), text).catch((err: NodeJS.ErrnoException) => problems.push(`cannot save ${name}: ${err.code ?? String(err)}`));
  }
}

/** gdb's view of the init: registers and backtrace, then detach (it keeps running). */
async function readInitWithGdb(pid: number, logPath: string): Promise<string> {
  const session = await attachGdb(pid, { logPath, timeoutMs: GDB_TIMEOUT_MS });
  try {
    const start = session.transcript().length;
    await session.run("info registers rsp rip", { timeoutMs: GDB_TIMEOUT_MS });
    await session.run("bt 8", { timeoutMs: GDB_TIMEOUT_MS });
    return `(gdb) ${session.transcript().slice(start)}`;
  } finally {
    await session.detach();
  }
}

/** Polls /proc/PID/status until the task runs or sleeps again (gdb resumed it). */
async function waitUntilRunning(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = (await readProc(pid, "status"))?.match(/^State:\s*(\S)/m)?.[1];
    if (state === "S" || state === "R") return;
    if (state === undefined || state === "Z" || state === "X") throw new Error(`PID ${pid} has exited`);
    if (Date.now() > deadline) throw new Error(`PID ${pid} still stopped (${state}) after ${timeoutMs} ms`);
    await sleep(10);
  }
}
