import type { RecordRef, TrialEvidence } from "../../src/evidence/schemas.js";
import type { KernelRecord } from "../../src/parse/kernel-records.js";
import { describeGdbRecord } from "../../src/capture/gdb.js";
import { readGoRuntime, splitSnapshots } from "../../src/evidence/go-runtime.js";
import { programExec, uprobeCoverage } from "../shared/kernel-program.js";
import { compact, containerPids, findEvent, observerRef } from "../shared/records.js";
import type { BacklogRequest } from "./request.js";

// Where each signal of a trial went, stage by stage, from the records of one trial:
//
//   sent (driver's kill(2) calls)
//    └ generated (kernel signal_generate to the program)  ── not generated: kill failed
//       ├ already-pending: coalesced in the kernel (a standard signal has one pending bit)
//       ├ ignored / overflow / lose-info
//       └ delivered (queued) → runtime.sigsend calls (uprobe)  ── gap: unaccounted
//          └ os/signal.process calls (uprobe)  ── sigsend − process: coalesced in sig.mask
//             └ reached the channel = received + still buffered ── process − that: dropped (full channel)
//
// The stages telescope, so sent = received + buffered + every loss above + unaccounted
// exactly; nothing is inferred from a timeout.
//
// A user's program (--binary, --image) reports no receives: its signals are followed as
// far as records go — to os/signal.process where its binary has Go's symbols (uprobes),
// to the kernel's delivery otherwise (a stripped Go binary, a program that is not Go).

/**
 * How far a trial's signals are followed: into the channel (our probe's counts), to
 * os/signal (a user's Go program with symbols), or to the kernel's delivery.
 */
export type BacklogView = "channel" | "os-signal" | "kernel";

export const SIGNALS = { SIGUSR1: 10, SIGTERM: 15 } as const;
const SI_USER = 0;

export interface StageCounts {
  sent: number;
  /** kill(2) calls that failed (the driver's report). */
  sendErrors: number;
  generated: number;
  /** Under an init: the driver's kills to PID 1 the kernel found already pending there (the init never saw them to forward). */
  coalescedAtInit: number;
  /** signal_generate result "delivered": queued for the program. */
  queued: number;
  /** signal_generate result "already-pending": coalesced in the kernel. */
  coalesced: number;
  /** ignored, overflow, lose-info. */
  otherResults: number;
  /** signal_deliver in the program's threads. */
  kernelDeliveries: number;
  sighandlerCalls: number;
  sigsendCalls: number;
  /** os/signal.process calls (probed after its stack check: a call re-entered after morestack counts once). */
  processCalls: number;
  received: number;
  buffered: number;
}

export interface Accounting {
  /** The last stage followed: what `reached` and `lost` are counted at. */
  upTo: BacklogView;
  /** Signals that reached it: received + buffered (channel), os/signal.process calls, or queued by the kernel. */
  reached: number;
  /** Signals that did not reach it: sent − reached. */
  lost: number;
  /** Under an init: coalesced at PID 1 before the init could forward them. */
  coalescedInit: number;
  /** Never generated for the program: a failed kill(2), or an init that did not forward it. */
  notGenerated: number;
  coalescedKernel: number;
  otherResults: number;
  /** sigsend calls that os/signal never took as a separate signal: coalesced in the runtime's sig.mask. */
  coalescedRuntime: number;
  /** Taken by os/signal, not put in the channel: dropped on a full channel. */
  dropped: number;
  /** Queued by the kernel without a sigsend call (still pending at the end, or a gap in the capture). */
  unaccounted: number;
}

/** Pure: the loss of one trial, up to the stage `upTo`, split into where it went; every lost signal lands in exactly one bucket. */
export function accountLosses(c: StageCounts, upTo: BacklogView = "channel"): Accounting {
  const coalescedInit = Math.min(c.coalescedAtInit, c.sent - c.generated);
  const notGenerated = c.sent - c.generated - coalescedInit;
  const coalescedKernel = c.coalesced;
  const otherResults = c.otherResults;
  const reached = upTo === "channel" ? c.received + c.buffered : upTo === "os-signal" ? c.processCalls : c.queued;
  const coalescedRuntime = upTo === "kernel" ? 0 : c.sigsendCalls - c.processCalls;
  const dropped = upTo === "channel" ? c.processCalls - c.received - c.buffered : 0;
  const lost = c.sent - reached;
  const unaccounted = lost - coalescedInit - notGenerated - coalescedKernel - otherResults - coalescedRuntime - dropped;
  return { upTo, reached, lost, coalescedInit, notGenerated, coalescedKernel, otherResults, coalescedRuntime, dropped, unaccounted };
}

export interface BacklogTrial {
  trial: string;
  signal: "SIGUSR1" | "SIGTERM";
  load: "burst" | number;
  cap: string;
  reader: string;
  /** Whether the kernel observer ran: without it only sent and received are known. */
  kernel: boolean;
  /** How far the signals are followed (see BacklogView). */
  view: BacklogView;
  /** A user's program, not our probe. */
  userTarget: boolean;
  /** Why a user's program is followed no further than the kernel: what its binary lacks. null otherwise. */
  unseen: string | null;
  counts: StageCounts;
  accounting: Accounting | null;
  /** Lost events of the kernel's ring buffer: the kernel's counts are then lower bounds. */
  kernelLostEvents: number;
  /** µs from Notify returning (probe event) to the first receive (probe event); null for a program that never reads. */
  windowUs: number | null;
  /** µs from entering os/signal.Notify (uprobe) to the probe's notify event after it returned. */
  notifyCallUs: number | null;
  /** µs from Notify returning to the first kill(2): negative would mean a send before Notify. */
  firstSendAfterNotifyUs: number | null;
  /**
   * The signals sent between Notify returning and the first receive (the seed's window):
   * how many, how many the kernel ignored (no handler: the seed's mechanism) or coalesced,
   * and how many os/signal took (process calls) before the first receive. null when no
   * send fell inside it or the program never receives.
   */
  window: { sent: number; ignored: number; coalesced: number; reachedOsSignal: number } | null;
  /** µs from the exec (the trial's origin) to the probe's notify event. */
  notifyAfterExecUs: number | null;
  /**
   * The first send came before Notify returned (or Notify was never reported): the trial
   * measured the program's start-up, not its subscription, and no verdict here uses it.
   */
  early: boolean;
  /** Span of the sends, first kill(2) to last, µs. */
  sendSpanUs: number | null;
  /** What a gdb checkpoint read after the sends (null: no gdb in this trial). */
  checkpoint: Checkpoint | null;
  exitCode: number | null;
  /** /proc/loadavg when the sends were done: on a shared machine it explains a program slow to take its signals. */
  loadavg: string | null;
  refs: {
    driver: RecordRef | null;
    notify: RecordRef | null;
    receiving: RecordRef | null;
    counts: RecordRef | null;
    /** First already-pending signal_generate, first sigsend, first process, first generate. */
    firstCoalesced: RecordRef | null;
    firstGenerate: RecordRef | null;
    firstSigsend: RecordRef | null;
    firstProcess: RecordRef | null;
    checkpoint: RecordRef[];
  };
}

export interface Checkpoint {
  /** gdb attached and read the runtime: or why not. */
  read: boolean;
  problem: string | null;
  /** sig.mask, sig.wanted, sig.recv as signal names; handlers.ref as counts. */
  mask: string[] | null;
  wanted: string[] | null;
  recv: string[] | null;
  state: string | number | null;
  handlers: Record<string, number> | null;
  /** What gdb answered to the seed's `p runtime.sighandlers.sigsend.len`, and to the symbol quoted. */
  seedExpression: { command: string; answer: string; refused: boolean } | null;
  seedSymbol: { command: string; answer: string; refused: boolean } | null;
}

export function analyseBacklogTrial(trial: TrialEvidence): BacklogTrial {
  const request = trial.request as BacklogRequest;
  const sig = SIGNALS[request.signal];
  const driver = findEvent(trial, "runtime", "driver");
  const sends = ((driver?.record.fields.sends as { sig: number; sendNs: string; sentNs: string; error?: string }[] | undefined) ?? []).filter((s) => s.sig === sig);
  const kernel = trial.records.kernel;
  const target = (findEvent(trial, "runtime", "container")?.record.fields.target ?? {}) as { kind?: string; programPath?: string };
  const userTarget = target.kind !== undefined && target.kind !== "probe";
  const programPid = findProgramPid(trial, kernel ?? [], target.programPath ?? "/probe");
  const { pid1 } = containerPids(trial);
  const coverage = uprobeCoverage(kernel ?? []);
  const runtimeView = coverage.functions.has("runtime.sigsend") && coverage.functions.has("os/signal.process");
  const view: BacklogView = !userTarget ? "channel" : runtimeView ? "os-signal" : "kernel";
  const unseen =
    view !== "kernel" || kernel === undefined
      ? null
      : trial.variant.go === "not-go"
        ? "not a Go program: no signal.Notify, no runtime to follow signals into; the kernel's part only"
        : `no runtime view (${coverage.note ?? "no uprobes on runtime.sigsend / os/signal.process"}): the kernel's part only`;
  const counts: StageCounts = {
    sent: sends.filter((s) => !s.error).length,
    sendErrors: sends.filter((s) => s.error).length,
    generated: 0,
    coalescedAtInit: 0,
    queued: 0,
    coalesced: 0,
    otherResults: 0,
    kernelDeliveries: 0,
    sighandlerCalls: 0,
    sigsendCalls: 0,
    processCalls: 0,
    received: 0,
    buffered: 0,
  };
  const refs: BacklogTrial["refs"] = { driver: driver?.ref ?? null, notify: null, receiving: null, counts: null, firstCoalesced: null, firstGenerate: null, firstSigsend: null, firstProcess: null, checkpoint: [] };
  let kernelLostEvents = 0;
  let notifyUprobeUs: number | null = null;
  // In time order: the capture is trace_pipe's output read in rounds, and an event a CPU
  // committed late can follow, in the file, a later event of another CPU.
  const order = (kernel ?? []).map((r, i) => ({ r, i })).sort((a, b) => (a.r.tsUs ?? 0) - (b.r.tsUs ?? 0) || a.i - b.i);
  order.forEach(({ r, i }) => {
    if (r.kind === "lost") kernelLostEvents += r.lostEvents;
    if (r.kind === "uprobe" && r.fn === "os/signal.Notify" && notifyUprobeUs === null && r.tsUs !== null) notifyUprobeUs = r.tsUs;
    if (r.kind === "signal-generate" && r.sig === sig && r.code === SI_USER && (programPid === null || r.targetPid === programPid)) {
      counts.generated++;
      refs.firstGenerate ??= observerRef(trial, "kernel", i);
      if (r.resultName === "delivered") counts.queued++;
      else if (r.resultName === "already-pending") {
        counts.coalesced++;
        refs.firstCoalesced ??= observerRef(trial, "kernel", i);
      } else counts.otherResults++;
    }
    if (r.kind === "signal-generate" && r.sig === sig && r.code === SI_USER && pid1 !== null && programPid !== null && pid1 !== programPid && r.targetPid === pid1 && r.resultName === "already-pending") counts.coalescedAtInit++;
    if (r.kind === "signal-deliver" && r.sig === sig && (programPid === null || r.pid === null || r.pid !== pid1 || pid1 === programPid)) counts.kernelDeliveries++;
    if (r.kind === "uprobe" && r.args.sig === sig) {
      if (r.fn === "runtime.sighandler") counts.sighandlerCalls++;
      if (r.fn === "runtime.sigsend") {
        counts.sigsendCalls++;
        refs.firstSigsend ??= observerRef(trial, "kernel", i);
      }
      if (r.fn === "os/signal.process") {
        counts.processCalls++;
        refs.firstProcess ??= observerRef(trial, "kernel", i);
      }
    }
  });

  const report = findEvent(trial, "probe", "counts");
  if (report) {
    const received = (report.record.fields.received ?? {}) as Record<string, number>;
    counts.received = received[request.signal] ?? 0;
    counts.buffered = typeof report.record.fields.buffered === "number" ? report.record.fields.buffered : 0;
    refs.counts = report.ref;
  }
  // A user's program says nothing: its Notify is the os/signal.Notify uprobe (entered, not returned).
  const notifyHit = userTarget ? (kernel ?? []).findIndex((r) => r.kind === "uprobe" && r.fn === "os/signal.Notify" && r.tsUs !== null) : -1;
  const notify = userTarget ? (notifyHit >= 0 ? { record: { tsUs: kernel![notifyHit]!.tsUs! }, ref: observerRef(trial, "kernel", notifyHit) } : null) : findEvent(trial, "probe", "notify");
  const receiving = findEvent(trial, "probe", "receiving");
  refs.notify = notify?.ref ?? null;
  refs.receiving = receiving?.ref ?? null;
  const sendUs = sends.map((s) => Number(s.sendNs.slice(0, -3)));
  let window: BacklogTrial["window"] = null;
  if (notify && receiving) {
    const inside = (us: number | null) => us !== null && us >= notify.record.tsUs && us < receiving.record.tsUs;
    const sent = sendUs.filter((us) => inside(us)).length;
    if (sent > 0) {
      window = { sent, ignored: 0, coalesced: 0, reachedOsSignal: 0 };
      for (const r of kernel ?? []) {
        if (!inside(r.tsUs)) continue;
        if (r.kind === "signal-generate" && r.sig === sig && r.code === SI_USER && (programPid === null || r.targetPid === programPid)) {
          if (r.resultName === "ignored") window.ignored++;
          if (r.resultName === "already-pending") window.coalesced++;
        }
        if (r.kind === "uprobe" && r.fn === "os/signal.process" && r.args.sig === sig) window.reachedOsSignal++;
      }
    }
  }
  const exit = findEvent(trial, "runtime", "exit");
  const checkpoint = readCheckpoint(trial);
  refs.checkpoint = checkpoint.refs;
  const variant = trial.variant;
  return {
    trial: trial.id,
    signal: request.signal,
    load: request.load,
    cap: String(variant.cap ?? "?"),
    reader: String(variant.reader ?? "?"),
    kernel: kernel !== undefined,
    view,
    userTarget,
    unseen,
    counts,
    accounting: kernel !== undefined && (report || userTarget) ? accountLosses(counts, view) : null,
    kernelLostEvents,
    windowUs: notify && receiving ? receiving.record.tsUs - notify.record.tsUs : null,
    notifyCallUs: notify && notifyUprobeUs !== null && !userTarget ? notify.record.tsUs - notifyUprobeUs : null,
    firstSendAfterNotifyUs: notify && sendUs.length ? Math.min(...sendUs) - notify.record.tsUs : null,
    notifyAfterExecUs: notify ? notify.record.tsUs - trial.originUs : null,
    window,
    // Without a runtime view a user's Notify is invisible: nothing says its sends were early.
    early: sendUs.length > 0 && !(userTarget && view === "kernel") && (notify === null || Math.min(...sendUs) < notify.record.tsUs),
    sendSpanUs: sendUs.length ? Math.max(...sendUs) - Math.min(...sendUs) : null,
    checkpoint: checkpoint.value,
    exitCode: typeof exit?.record.fields.code === "number" ? exit.record.fields.code : null,
    loadavg: (findEvent(trial, "runtime", "host-load")?.record.fields.loadavg as string | null | undefined) ?? null,
    refs,
  };
}

/** The program's host PID: the exec of its path in the kernel's records (under an init it is the child's). */
function findProgramPid(trial: TrialEvidence, kernel: readonly KernelRecord[], programPath: string): number | null {
  const checkpoint = findEvent(trial, "runtime", "checkpoint");
  if (typeof checkpoint?.record.fields.pid === "number") return checkpoint.record.fields.pid;
  return programExec(kernel, programPath)?.pid ?? null;
}

/**
 * The gdb checkpoint: the hook notes when and on which PID it ran (or why gdb could not),
 * the values come from gdb's own records (the last snapshot in gdb.log), read the way
 * readGoRuntime reads any transcript.
 */
function readCheckpoint(trial: TrialEvidence): { value: Checkpoint | null; refs: RecordRef[] } {
  const noted = findEvent(trial, "runtime", "checkpoint");
  if (!noted) return { value: null, refs: [] };
  const f = noted.record.fields as Record<string, unknown>;
  const gdb = trial.records.gdb ?? [];
  const refs: RecordRef[] = [noted.ref];
  const seed: Record<string, Checkpoint["seedExpression"]> = {};
  gdb.forEach((r, i) => {
    if (r.kind === "value" && (r.expr === "'runtime.sig'" || r.expr === "'os/signal.handlers'")) refs.push(observerRef(trial, "gdb", i));
    if (r.kind === "command" && (r.command === SEED_EXPRESSION || r.command === SEED_SYMBOL)) {
      const answer = gdb[i + 1];
      const refused = answer?.kind === "error";
      seed[r.command] = { command: r.command, answer: answer ? describeGdbRecord(answer) : "(no answer)", refused };
      if (answer) refs.push(observerRef(trial, "gdb", i + 1));
    }
  });
  const snapshots = splitSnapshots(gdb);
  const reading = snapshots.length ? readGoRuntime(snapshots.at(-1)!) : null;
  const problem = typeof f.problem === "string" ? f.problem : reading === null ? "no snapshot in gdb.log" : reading.kind === "no-dwarf" ? reading.reason : reading.problems.join("; ") || null;
  const sig = reading?.kind === "read" ? reading.sig : null;
  return {
    value: {
      read: sig !== null,
      problem,
      mask: sig?.mask ?? null,
      wanted: sig?.wanted ?? null,
      recv: sig?.recv ?? null,
      state: sig?.state ?? null,
      handlers: reading?.kind === "read" ? reading.handlers : null,
      seedExpression: seed[SEED_EXPRESSION] ?? null,
      seedSymbol: seed[SEED_SYMBOL] ?? null,
    },
    refs: compact(refs),
  };
}

/** The seed's §4.2 command, verbatim: what gdb answers to it is part of claim S4's evidence. */
export const SEED_EXPRESSION = "p runtime.sighandlers.sigsend.len";
/** The same symbol quoted as gdb wants Go's dotted names, so a refusal cannot be blamed on gdb's parsing of the dot. */
export const SEED_SYMBOL = "p 'runtime.sighandlers'";
