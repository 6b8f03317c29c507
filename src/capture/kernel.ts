// The kernel observer: tracefs tracepoints (sched, signal, rt_sigaction) and uprobes on the
// Go runtime, no ptrace, so the program runs at its own speed. Two instances per trial:
//
//   tree     set_event_pid = the gate (+ PID 1) with options/event-fork: everything that
//            runs in the trial's own tasks — exec, fork, exit, signal_deliver, rt_sigaction,
//            the uprobes — and nothing else of the host.
//   signals  signal_generate, filtered on the trial's signal numbers and SIGKILL only:
//            generation runs in the SENDER's context (our driver; runc for a Docker kill
//            or stop, as measured; the kernel itself, e.g. SIGKILL to the other threads of
//            an exiting process), which no pid filter on the tree can catch; records aimed
//            outside the tree are left for selectTrialRecords / onRecord to drop.
//
// A run's trials take turns with one pair of instances and, under Docker, one set of
// uprobes (kernel-instances.ts, kernel-uprobe-sets.ts): making and unmaking them cost more
// than everything else the observer does. Each trial still gets its own raw files, each
// opening with its header and clock marker.
//
// Both stamp events with the mono clock; a clock marker written at attach and at detach
// (go-probes/clockmark) carries one CLOCK_REALTIME/CLOCK_MONOTONIC pair, the same in both
// files, so each raw file maps itself and the two agree to the µs on which event came first.
//
// Uprobes take the binary as ObserverTarget.programPath, /proc/<gatePid>/root/probe: the
// kernel resolves that path when the probe is defined, through the container's root, to
// the file's real inode (d_real_inode: on Docker's overlay2 the layer's file, which is what
// the program maps), so one path works for both runtimes (verified on Linux 6.18).

import { existsSync } from "node:fs";
import { access, constants, open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { HarnessError } from "../errors.js";
import { createKernelParser, HEADER_PREFIX, parseKernelText } from "../parse/kernel.js";
import { describeKernelRecord } from "../parse/kernel-describe.js";
import { KernelRecord } from "../parse/kernel-records.js";
import { createTrialTree, rootPidsOf, selectTrialRecords } from "../parse/kernel-tree.js";
import { buildProbe } from "../probe/build.js";
import { onCleanup } from "../cleanup.js";
import { NO_SIGNAL_FILTER, releasePairs, removePair, restPair, takePair, type InstancePair } from "./kernel-instances.js";
import { acquireUprobes, guardUprobeSets, releaseUprobeSets } from "./kernel-uprobe-sets.js";
import type { Attachment, Observer, ObserverTarget } from "./observer.js";
import {
  findTracefs,
  INSTANCE_PREFIX,
  type TracefsInstance,
  type TracePipe,
} from "./tracefs.js";

export const KERNEL_RAW = { tree: "kernel.trace", signals: "kernel-signals.trace" } as const;

export const TRACE_CLOCK = "mono";
/** Per-CPU ring buffer of each instance: a burst of thousands of signals (4 lines each) fits many times over. */
const BUFFER_KB = { tree: 4096, signals: 1024 } as const;
/** How often the readers look at trace_pipe when it was empty; a full read loops at once. */
const POLL_MS = 5;
const SIGKILL = 9;

/** Tracepoints of the tree instance. */
export const TREE_EVENTS = [
  "sched/sched_process_exec",
  "sched/sched_process_fork",
  "sched/sched_process_exit",
  "signal/signal_deliver",
  "syscalls/sys_enter_rt_sigaction",
  "syscalls/sys_exit_rt_sigaction",
  // An init's forward that never became a signal: dumb-init's kill(-child, SIGTERM) to a
  // process group its child has not made yet fails with ESRCH, and signal_generate never fires.
  "syscalls/sys_enter_kill",
  "syscalls/sys_exit_kill",
] as const;
export const SIGNAL_EVENT = "signal/signal_generate";

export interface KernelAttachment extends Attachment<KernelRecord> {
  /** Instance names, uprobe group, raw files: what describe() records. */
  readonly instances: readonly string[];
  readonly uprobeGroup: string | null;
}

export const kernelObserver: Observer<KernelRecord> = {
  name: "kernel",
  summary: "tracefs tracepoints (exec/fork/exit, signal generate/deliver, rt_sigaction, kill) and uprobes on the Go runtime; no ptrace",
  rawFiles: [KERNEL_RAW.tree, KERNEL_RAW.signals],
  record: KernelRecord,
  needs: checkKernelObserver,
  attach: attachKernel,
  // Resting pairs first: they hold the shared uprobes' events enabled.
  release: async () => {
    await releasePairs();
    await releaseUprobeSets();
  },
  // The signals instance also caught what other processes of the host were sent; a
  // trial's records are those of its own process tree (kernel-tree.ts).
  // The two instances' files follow each other (each opens with its header, which names
  // it): order across them is the records' stamps, not their places.
  parse(raw) {
    const records = [KERNEL_RAW.tree, KERNEL_RAW.signals].flatMap((name) => (raw[name] === undefined ? [] : parseKernelText(raw[name])));
    return selectTrialRecords(records, rootPidsOf(records));
  },
  describe: describeKernelRecord,
  timeUs: (r) => r.tsUs,
  pid: (r) => r.pid,
};

/** What the kernel observer needs of this host: tracefs, its tracepoints, uprobe events, root. */
export async function checkKernelObserver(): Promise<void> {
  const root = await findTracefs();
  for (const event of [...TREE_EVENTS, SIGNAL_EVENT]) {
    if (!existsSync(join(root, "events", event))) {
      const config = event.startsWith("syscalls/") ? "CONFIG_FTRACE_SYSCALLS" : "CONFIG_TRACEPOINTS";
      throw new HarnessError("MISSING_TOOL", `the kernel has no tracepoint ${event} (${root}/events/${event}): it needs ${config}; use --observe strace instead`);
    }
  }
  if (!existsSync(join(root, "uprobe_events"))) {
    throw new HarnessError("MISSING_TOOL", `no ${root}/uprobe_events: the kernel lacks CONFIG_UPROBE_EVENTS; use --observe strace instead`);
  }
  await access(join(root, "instances"), constants.W_OK).catch(() => {
    throw new HarnessError("MISSING_TOOL", `cannot write ${root}/instances: run forensics as root to use the kernel observer`);
  });
}

async function attachKernel(target: ObserverTarget): Promise<KernelAttachment> {
  await checkKernelObserver();
  const root = await findTracefs();
  const clockmark = await clockmarkPath();
  const rootPids = [...new Set([target.gatePid, target.pid1])];
  const signals = [...new Set([...target.signals, SIGKILL])].sort((a, b) => a - b);
  const signalFilter = signals.map((s) => `sig == ${s}`).join(" || ");

  // Everything made below is undone in reverse by one function: on detach, on Ctrl-C
  // (the cleanup registry) and when the attach itself fails half-way. A pair put to rest
  // for the next trial is left out.
  const undo: (() => Promise<void>)[] = [];
  const undoAll = async () => {
    for (const fn of undo.splice(0).reverse()) await fn().catch(() => undefined);
  };
  if (target.programShared === true) guardUprobeSets();
  const forget = onCleanup(undoAll);

  try {
    const plan = await acquireUprobes(root, target.programPath, target.programShared === true, undo);
    const uprobes = plan.uprobes;

    const { pair, reused } = await takePair(root, `${INSTANCE_PREFIX}${process.pid}-${target.trialId}`, { clock: TRACE_CLOCK, bufferKb: BUFFER_KB });
    let resting = false;
    undo.push(async () => {
      if (!resting) await removePair(pair);
    });
    const { tree, signals: sigs } = pair;
    await tree.write("set_event_pid", rootPids.join(" "));

    const treeEvents = [...TREE_EVENTS, ...uprobes.map((u) => `${u.group}/${u.event}`)];
    const common = { harnessPid: process.pid, trialId: target.trialId, clock: TRACE_CLOCK, rootPids, programPath: target.programPath, instanceReused: reused };
    const headers = {
      tree: {
        ...common,
        instance: tree.name,
        role: "tree",
        bufferKb: BUFFER_KB.tree,
        eventPid: rootPids,
        eventFork: true,
        events: treeEvents,
        filters: {},
        uprobes: uprobes.map((u) => ({ event: `${u.event}`, group: u.group, fn: u.fn, binary: u.binary, offset: `0x${u.offset.toString(16)}`, fetch: u.fetch })),
        uprobesNote: plan.note,
        uprobesShared: plan.shared,
      },
      signals: { ...common, instance: sigs.name, role: "signals", bufferKb: BUFFER_KB.signals, events: [SIGNAL_EVENT], filters: { [SIGNAL_EVENT]: signalFilter }, uprobes: [] },
    };

    const streams = {
      tree: await openStream(pair.treePipe, join(target.dir, KERNEL_RAW.tree), headers.tree, undo),
      signals: await openStream(pair.signalsPipe, join(target.dir, KERNEL_RAW.signals), headers.signals, undo),
    };
    // The attach marker first, while nothing records but it (a new pair: no event is on; a
    // resting one: the tree's pids are the blocked gate's, the signals filter matches no
    // signal): every reader meets its clock before any event, so streamed records carry
    // realtime stamps from the first one.
    if (reused) {
      await tree.write("tracing_on", "1");
      await sigs.write("tracing_on", "1");
    }
    await writeClockMarkers(clockmark, [tree, sigs]);

    await sigs.write(`events/${SIGNAL_EVENT}/filter`, signalFilter);
    if (!reused) await sigs.write(`events/${SIGNAL_EVENT}/enable`, "1");
    for (const event of treeEvents) {
      if (pair.treeEnabled.has(event)) continue;
      await tree.write(`events/${event}/enable`, "1");
      pair.treeEnabled.add(event);
    }
    // A resting pair may still hold the shared uprobes of another program file (another
    // variant's build): they record nothing for this trial's pids, but are switched off.
    for (const event of [...pair.treeEnabled].filter((e) => !treeEvents.includes(e))) {
      await tree.write(`events/${event}/enable`, "0");
      pair.treeEnabled.delete(event);
    }

    const listeners: ((r: KernelRecord) => void)[] = [];
    // What arrives before the first listener is kept for it: the pump runs from here on,
    // and the caller registers only once attach has resolved.
    const early: KernelRecord[] = [];
    const trialTree = createTrialTree(rootPids);
    const emit = (records: KernelRecord[]) => {
      for (const r of records) {
        if (!trialTree.admit(r)) continue;
        if (listeners.length === 0) early.push(r);
        for (const l of listeners) l(r);
      }
    };
    // Signals first, then the tree: a fork that precedes a signal to its child in time is
    // then already read (and the child known) when that signal is looked at.
    const round = async (): Promise<boolean> => {
      const sigRecords = await streams.signals.read();
      const treeRecords = await streams.tree.read();
      emit(treeRecords);
      emit(sigRecords);
      return sigRecords.length + treeRecords.length > 0;
    };
    let stopping = false;
    let failure: unknown = null;
    const pump = (async () => {
      while (!stopping) {
        try {
          if (!(await round())) await sleep(POLL_MS);
        } catch (err) {
          failure = err;
          return;
        }
      }
    })();

    let detached: Promise<void> | null = null;
    const detach = async () => {
      // The detach marker while recording, then nothing new comes in (recording off: no
      // event is unregistered, so a pair can rest as it is); the last round drains what
      // the kernel still buffers.
      await writeClockMarkers(clockmark, [tree, sigs]).catch(() => undefined);
      await tree.write("tracing_on", "0").catch(() => undefined);
      await sigs.write("tracing_on", "0").catch(() => undefined);
      stopping = true;
      await pump;
      if (failure === null) await round().catch((err: unknown) => (failure = err));
      if (target.reuse === true && failure === null) resting = await readyToRest(pair, plan.shared ? [] : treeEvents.slice(TREE_EVENTS.length));
      await undoAll();
      forget();
      if (resting) restPair(pair);
      // Everything is removed either way; a capture with a hole in it must not pass as whole.
      if (failure !== null) {
        throw new HarnessError("TRIAL_FAILED", `the kernel observer stopped reading trace_pipe: ${(failure as Error).message ?? String(failure)}`, { cause: failure });
      }
    };
    undo.push(async () => {
      stopping = true;
      await pump;
    });

    return {
      instances: [tree.name, sigs.name],
      uprobeGroup: plan.group,
      describe: () => ({ observer: "kernel", tracefs: root, headers, rawFiles: [KERNEL_RAW.tree, KERNEL_RAW.signals] }),
      onRecord: (listener) => {
        listeners.push(listener);
        for (const r of early.splice(0)) listener(r);
      },
      detach: () => (detached ??= detach()),
    };
  } catch (err) {
    await undoAll();
    forget();
    throw err;
  }
}

/**
 * Readies a drained pair for the next trial: its signals filter matches no signal, and the
 * uprobe events of the trial's own set (removed with the trial) are off. False, and the
 * pair is removed instead, if tracefs refused either.
 */
async function readyToRest(pair: InstancePair, ownUprobeEvents: string[]): Promise<boolean> {
  try {
    await pair.signals.write(`events/${SIGNAL_EVENT}/filter`, NO_SIGNAL_FILTER);
    for (const event of ownUprobeEvents) {
      await pair.tree.write(`events/${event}/enable`, "0");
      pair.treeEnabled.delete(event);
    }
    return true;
  } catch {
    return false;
  }
}

let clockmark: Promise<string> | null = null;
/** The clockmark helper, looked up in the probe cache once per process. */
function clockmarkPath(): Promise<string> {
  clockmark ??= buildProbe("clockmark").then(
    (b) => b.path,
    (err: unknown) => {
      clockmark = null;
      throw err;
    },
  );
  return clockmark;
}

interface Stream {
  /** Reads what the instance buffered, appends it to the raw file, and returns its records. */
  read(): Promise<KernelRecord[]>;
}

async function openStream(pipe: TracePipe, path: string, header: Record<string, unknown>, undo: (() => Promise<void>)[]): Promise<Stream> {
  const file: FileHandle = await open(path, "w");
  undo.push(() => file.close());
  const headerLine = `${HEADER_PREFIX}${JSON.stringify(header)}\n`;
  await file.write(headerLine);
  const parser = createKernelParser();
  parser.pushText(headerLine);
  return {
    async read() {
      const text = await pipe.read();
      if (text === "") return [];
      await file.write(text);
      return parser.pushText(text);
    },
  };
}

async function writeClockMarkers(clockmark: string, instances: TracefsInstance[]): Promise<void> {
  const r = await execa(clockmark, instances.map((i) => join(i.dir, "trace_marker")), { reject: false });
  if (r.exitCode !== 0) throw new HarnessError("TRIAL_FAILED", `clockmark failed (${r.exitCode}): ${r.stderr.trim()}`);
}

