import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { GdbAttachment } from "../../src/capture/gdb.js";
import { snapshot } from "../../src/capture/gdb-snapshot.js";
import type { ObserverName } from "../../src/capture/observer.js";
import { isHarnessError } from "../../src/errors.js";
import { defineScenario, type SweepContext, type TrialHookContext } from "../../src/scenario/define.js";
import { programPid } from "../shared/hooks.js";
import { analyseBacklogTrial, SEED_EXPRESSION, SEED_SYMBOL, SIGNALS } from "./accounting.js";
import { BACKLOG_CLAIMS, judgeBacklogClaims } from "./claims.js";
import { render } from "./render.js";
import type { BacklogRequest } from "./request.js";

// Bursts and steady rates of SIGUSR1 or SIGTERM at a Go program subscribed with
// signal.Notify on a channel of capacity 0, 1 or 64, read fast, slowly or never; every
// signal is followed from the kill(2) to the channel (accounting.ts), a gdb checkpoint
// after the sends reads the runtime's queue, and SIGUSR2 then makes the probe report its
// counts and exit.

/**
 * The sends start this long after the exec: the probe calls Notify ≈1–3 ms after it on an
 * idle host, tens of ms on a loaded one. A trial whose sends began before Notify measured
 * the start-up instead (S1/S2/S7's matter): it is run again, later (START_RETRIES times).
 */
const START_US = 150_000;
const START_RETRIES = 3;
/** window=held: the probe waits this long between Notify and its first receive; the sends (from START_US) fall inside. */
const HELD_WINDOW_MS = 300;
/** After the last send: time for the runtime and os/signal to take what is pending before the checkpoint. */
const QUIET_MS = 50;
const GDB_TIMEOUT_MS = 10_000;
const MAX_COUNT = 20_000;

interface Load {
  signal: "SIGUSR1" | "SIGTERM";
  load: "burst" | number;
}

function parseLoads(value: string): Load[] {
  return value.split(",").map((part) => {
    const m = /^(SIGUSR1|SIGTERM):(burst|\d+)$/.exec(part.trim());
    const rate = m && m[2] !== "burst" ? Number(m[2]) : null;
    if (!m || (rate !== null && (rate < 1 || rate > 100_000))) throw new Error(`expected SIGNAL:LOAD pairs (SIGUSR1 or SIGTERM, burst or 1–100000 per second), e.g. SIGTERM:1000,SIGUSR1:burst; got "${part}"`);
    return { signal: m[1] as Load["signal"], load: rate ?? "burst" };
  });
}

function parseCount(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_COUNT) throw new Error(`expected a whole number of signals from 1 to ${MAX_COUNT}, got "${value}"`);
  return n;
}

const DEFAULT_LOADS: Load[] = [
  { signal: "SIGUSR1", load: "burst" },
  { signal: "SIGTERM", load: 1000 },
];
const DEFAULT_COUNT = 200;

export default defineScenario<BacklogRequest>({
  name: "signal-backlog",
  summary: "bursts and rates of SIGUSR1/SIGTERM at a Notify channel of capacity 0/1/64, read fast, slowly or never: where every signal went (S3, S4, S8)",
  help: `signal-backlog reports for every trial, per stage, how many signals:
  sent (the driver's kill calls), generated and their kernel result (delivered, or already
  pending = coalesced in the kernel), runtime.sigsend and os/signal.process calls (uprobes),
  received by the program and still buffered in its channel; the difference between stages
  says where each lost signal went: coalesced in the kernel, coalesced in the runtime's
  sig.mask, dropped on a full channel, or unaccounted. A gdb checkpoint after the sends
  reads 'runtime.sig' and 'os/signal.handlers'.ref. The seed's §4.1 figures (window 8–12 µs,
  0.7 % lost at 1000 SIGTERM/s) are printed beside what was measured.
  With --binary or --image, your program (no --cap/--reader/--window: they configure the
  probe): its Notify is the os/signal.Notify uprobe, and its signals are followed as far as
  records go — to os/signal.process where the binary has Go's symbols, to the kernel's
  delivery otherwise; what happens after (its channel, its receives) it does not report, so
  the verdicts say what they could not see. The trial ends with SIGKILL after the checkpoint.`,
  claims: [BACKLOG_CLAIMS.S3, BACKLOG_CLAIMS.S4, BACKLOG_CLAIMS.S8],
  probe: "sigbacklog",
  targets: ["binary", "image"],
  inits: ["none", "tini", "dumb-init", "docker-init"],
  defaultInits: ["none"],
  observers: { supported: ["kernel", "gdb", "strace"], defaultSets: [["kernel", "gdb"]] },
  axes: {
    cap: { description: "capacity of the Notify channel", values: ["0", "1", "64"], defaults: ["0", "1", "64"] },
    reader: { description: "how the program reads it: fast (always waiting), slow (5 ms per receive), none (never)", values: ["fast", "slow", "none"], defaults: ["fast", "none"] },
    window: {
      description: `the time from Notify to the first receive: natural, or held ${HELD_WINDOW_MS} ms open so the sends fall inside it`,
      values: ["natural", "held"],
      defaults: ["natural"],
    },
  },
  options: {
    loads: { flag: "--loads <SIG:LOAD,...>", description: "signal and load per trial: burst or N per second (default SIGUSR1:burst,SIGTERM:1000)", parse: parseLoads },
    count: { flag: "--count <n>", description: `signals per trial (default ${DEFAULT_COUNT})`, parse: parseCount },
  },
  signals: [SIGNALS.SIGUSR1, SIGNALS.SIGTERM],
  target: (variant) => ({
    args: [`-cap=${variant.cap ?? "1"}`, `-reader=${variant.reader ?? "fast"}`, ...(variant.window === "held" ? [`-receive-delay=${HELD_WINDOW_MS}ms`] : [])],
    env: {},
    files: [],
  }),
  sends: (r) => [{ sig: SIGNALS[r.signal], atUs: r.startUs, count: r.count, intervalUs: r.load === "burst" ? 0 : Math.round(1_000_000 / r.load) }],
  settleMs: () => 3_000,
  afterSends: checkpointAndEnd,

  async sweep(ctx: SweepContext<BacklogRequest>) {
    const loads = (ctx.sweep.options.loads as Load[] | undefined) ?? DEFAULT_LOADS;
    const count = (ctx.sweep.options.count as number | undefined) ?? DEFAULT_COUNT;
    for (const observers of ctx.sweep.observerSets) {
      for (const l of loads) {
        for (let i = 0; i < ctx.sweep.trials; i++) {
          const intent = `${l.signal} ${l.load === "burst" ? "burst" : `${l.load}/s`}`;
          let startUs = START_US;
          for (let attempt = 0; attempt <= START_RETRIES; attempt++) {
            const t = analyseBacklogTrial(await ctx.runTrial({ observers: observers as ObserverName[], intent: attempt ? `${intent} (again, later: the sends began before Notify)` : intent, ...l, count, startUs }));
            if (!t.early) break;
            startUs = Math.max(2 * startUs, (t.notifyAfterExecUs ?? 0) + START_US);
          }
        }
      }
    }
  },

  render,
  analyse: (variant, trials) => judgeBacklogClaims(variant, trials.map(analyseBacklogTrial)),
});

/**
 * The checkpoint after the sends: gdb attaches to the program, reads the runtime's signal
 * queue (and tries the seed's expression), detaches; then SIGUSR2 asks the probe for its
 * counts. A gdb that cannot attach or read is recorded as the checkpoint's problem and the
 * trial goes on: the kernel's and the probe's counts stand without it.
 */
async function checkpointAndEnd(ctx: TrialHookContext<BacklogRequest>): Promise<void> {
  await sleep(QUIET_MS);
  const gdb = ctx.attachments.gdb as GdbAttachment | undefined;
  const pid = await programPid(ctx.variant.init, ctx.gatePid);
  if (gdb) {
    await ctx.note("checkpoint-begin", { pid });
    let problem: string | null = null;
    try {
      if (pid === null) throw new Error("the program's PID was not found under the init");
      const session = await gdb.session(pid);
      await snapshot(session, pid, { timeoutMs: GDB_TIMEOUT_MS });
      await session.run(SEED_EXPRESSION, { timeoutMs: GDB_TIMEOUT_MS });
      await session.run(SEED_SYMBOL, { timeoutMs: GDB_TIMEOUT_MS });
    } catch (err) {
      problem = isHarnessError(err) ? `${err.code}: ${err.message}` : String(err);
    } finally {
      await gdb.detach().catch(() => undefined);
    }
    await ctx.note("checkpoint", { pid, problem, log: "gdb.log" });
  }
  await ctx.note("host-load", { loadavg: await loadavg() });
  if (ctx.target.kind === "probe") await ctx.container.signal("SIGUSR2");
  else {
    // A user's program has no report-and-exit signal of ours: what it did is in the records already.
    await ctx.note("end", { signal: "SIGKILL", reason: "a user's program: the sends and the checkpoint are done" });
    await ctx.container.signal("SIGKILL");
  }
}

/** The host's load when the trial ran: on a shared machine it explains slow signal takes (kernel coalescing). */
const loadavg = (): Promise<string | null> => readFile("/proc/loadavg", "utf8").then((t) => t.trim(), () => null);
