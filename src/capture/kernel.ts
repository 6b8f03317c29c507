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
import { acquireUprobes, guardUprobeSets, releaseUprobeSets } from "./kernel-uprobe-sets.js";
import type { Attachment, Observer, ObserverTarget } from "./observer.js";
import {
  createInstance,
  findTracefs,
  INSTANCE_PREFIX,
  openTracePipe,
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
  release: releaseUprobeSets,
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
  const clockmark = (await buildProbe("clockmark")).path;
  const rootPids = [...new Set([target.gatePid, target.pid1])];
  const signals = [...new Set([...target.signals, SIGKILL])].sort((a, b) => a - b);
  const signalFilter = signals.map((s) => `sig == ${s}`).join(" || ");

  // Everything made below is undone in reverse by one function: on detach, on Ctrl-C
  // (the cleanup registry) and when the attach itself fails half-way.
  const undo: (() => Promise<void>)[] = [];
  const undoAll = async () => {
    for (const fn of undo.splice(0).reverse()) await fn().catch(() => undefined);
  };
  if (target.programShared === true) guardUprobeSets();
  const forget = onCleanup(undoAll);

  try {
    const plan = await acquireUprobes(root, target.programPath, target.programShared === true, undo);
    const uprobes = plan.uprobes;

    const base = `${INSTANCE_PREFIX}${process.pid}-${target.trialId}`;
    const tree = await makeInstance(root, base, undo);
    const sigs = await makeInstance(root, `${base}-signals`, undo);
    await tree.write("buffer_size_kb", String(BUFFER_KB.tree));
    await sigs.write("buffer_size_kb", String(BUFFER_KB.signals));
    await tree.write("options/event-fork", "1");
    await tree.write("set_event_pid", rootPids.join(" "));

    const treeEvents = [...TREE_EVENTS, ...uprobes.map((u) => `${u.group}/${u.event}`)];
    const common = { harnessPid: process.pid, trialId: target.trialId, clock: TRACE_CLOCK, rootPids, programPath: target.programPath };
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
      tree: await openStream(tree, join(target.dir, KERNEL_RAW.tree), headers.tree, undo),
      signals: await openStream(sigs, join(target.dir, KERNEL_RAW.signals), headers.signals, undo),
    };
    // The attach marker first, while no event is enabled: every reader meets its clock
    // before any event, so streamed records carry realtime stamps from the first one.
    await writeClockMarkers(clockmark, [tree, sigs]);

    await sigs.write(`events/${SIGNAL_EVENT}/filter`, signalFilter);
    await sigs.write(`events/${SIGNAL_EVENT}/enable`, "1");
    for (const event of treeEvents) await tree.write(`events/${event}/enable`, "1");

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
      // The detach marker while events are still on, then nothing new can come in; the
      // last round drains what the kernel still buffers.
      await writeClockMarkers(clockmark, [tree, sigs]).catch(() => undefined);
      await tree.write("events/enable", "0").catch(() => undefined);
      await sigs.write("events/enable", "0").catch(() => undefined);
      stopping = true;
      await pump;
      if (failure === null) await round().catch((err: unknown) => (failure = err));
      await undoAll();
      forget();
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

async function makeInstance(root: string, name: string, undo: (() => Promise<void>)[]): Promise<TracefsInstance> {
  const instance = await createInstance(root, name);
  undo.push(() => instance.remove());
  await instance.write("trace_clock", TRACE_CLOCK);
  return instance;
}

interface Stream {
  /** Reads what the instance buffered, appends it to the raw file, and returns its records. */
  read(): Promise<KernelRecord[]>;
}

async function openStream(instance: TracefsInstance, path: string, header: Record<string, unknown>, undo: (() => Promise<void>)[]): Promise<Stream> {
  const file: FileHandle = await open(path, "w");
  undo.push(() => file.close());
  const headerLine = `${HEADER_PREFIX}${JSON.stringify(header)}\n`;
  await file.write(headerLine);
  const pipe: TracePipe = await openTracePipe(instance.dir);
  // Closed before the instance goes (an open trace_pipe makes rmdir fail with EBUSY).
  undo.push(() => pipe.close());
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

