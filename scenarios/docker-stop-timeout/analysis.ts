import type { RecordRef, TrialEvidence } from "../../src/evidence/schemas.js";
import type { KernelRecord } from "../../src/parse/kernel-records.js";
import { processExit, programExec, uprobeCoverage, uprobeHits } from "../shared/kernel-program.js";
import { compact, containerPids, findEvent, observerRef } from "../shared/records.js";
import type { StopRequest } from "./request.js";

// One docker-stop-timeout trial read from its records: when SIGTERM and SIGKILL were
// generated (kernel; the harness's stop-begin note without it), whether the program's
// Shutdown began and ended, the exit status, and what the HTTP client in flight saw.
// Our probe reports its Shutdown; a user's program (--binary, --image) does not, so there
// the kernel's uprobes stand in: SIGTERM reaching os/signal.process is where a graceful
// shutdown can begin (the program subscribed with Notify), runtime.dieFromSignal is Go's
// default action (no Notify), and the program's exit before any SIGKILL ends it.

const SIGTERM = 15;
const SIGKILL = 9;

export type StopOutcome = "graceful" | "killed" | "other";

/** What took the SIGTERM inside the program: os/signal (a Notify channel), Go's default action, or nothing any record shows. */
export type SigtermTaker = "notify" | "runtime-default" | null;

export interface StopTrial {
  trial: string;
  stopTimeoutS: number;
  /** The probe's /slow duration; null for a user's program (its --path decides). */
  handlerMs: number | null;
  /** The path the client requested. */
  path: string;
  /** µs (realtime) of the SIGTERM to PID 1 and of the SIGKILL to PID 1, as the kernel generated them. */
  sigtermUs: number | null;
  sigkillUs: number | null;
  /** Where the SIGTERM/SIGKILL instants come from: the kernel's signal_generate, or the harness's stop note. */
  timing: "kernel" | "harness" | null;
  sigtermToSigkillMs: number | null;
  /** Which process the kernel delivered SIGTERM to (signal_deliver): the program, its init, or nobody seen. */
  sigtermDeliveredTo: number[];
  /** Threads the kernel delivered SIGKILL in (signal_deliver, the fatal path): the program dying by it. */
  sigkillDeliveredTo: number[];
  /** Whether the program began its graceful shutdown; null when nothing can show it (a user's program without Go symbols or without the kernel observer). */
  shutdownBegin: boolean | null;
  shutdownEnd: boolean;
  /** Where shutdownBegin/End come from: the probe's reports, or the kernel (os/signal.process, the exit). */
  shutdownSource: "probe" | "kernel" | null;
  sigtermTakenBy: SigtermTaker;
  /** Why shutdownBegin is null: what the records lack. */
  unseen: string | null;
  /** A user's program (--binary, --image) rather than our probe. */
  userTarget: boolean;
  /** PID 1 is a shell (a shell-form entrypoint): SIGTERM reaches the program only if the shell exec'd it or passes it on. */
  pid1Shell: boolean;
  shutdownMs: number | null;
  /** How long the Shutdown still had to wait for the in-flight request when SIGTERM came, ms. */
  shutdownNeededMs: number | null;
  exitCode: number | null;
  client: { outcome: string; status: number | null; error: string | null; atUs: number | null } | null;
  outcome: StopOutcome;
  refs: {
    sigterm: RecordRef | null;
    sigkill: RecordRef | null;
    sigtermDelivery: RecordRef | null;
    sigkillDelivery: RecordRef | null;
    stop: RecordRef | null;
    requestBegin: RecordRef | null;
    shutdownBegin: RecordRef | null;
    shutdownEnd: RecordRef | null;
    client: RecordRef | null;
    exit: RecordRef | null;
  };
}

export function analyseStopTrial(trial: TrialEvidence): StopTrial {
  const request = trial.request as StopRequest;
  const kernel = trial.records.kernel ?? [];
  const { pid1 } = containerPids(trial);
  const target = (findEvent(trial, "runtime", "container")?.record.fields.target ?? {}) as { kind?: string; programPath?: string; shellForm?: boolean };
  const userTarget = target.kind !== undefined && target.kind !== "probe";
  const term = firstGenerate(kernel, SIGTERM, pid1);
  const kill = firstGenerate(kernel, SIGKILL, pid1);
  const stop = findEvent(trial, "runtime", "stop-begin");
  const requestBegin = findEvent(trial, "probe", "request-begin");
  const client = findEvent(trial, "runtime", "client");
  const exit = findEvent(trial, "runtime", "exit");
  const exitCode = typeof exit?.record.fields.code === "number" ? exit.record.fields.code : null;
  const deliveriesOf = (sig: number) => kernel.map((r, i) => ({ r, i })).filter(({ r }) => r.kind === "signal-deliver" && r.sig === sig);
  const deliveries = deliveriesOf(SIGTERM);
  const killDeliveries = deliveriesOf(SIGKILL);

  let sigtermUs: number | null = null;
  let sigkillUs: number | null = null;
  let timing: StopTrial["timing"] = null;
  const probeEnd = userTarget ? null : findEvent(trial, "probe", "shutdown-end");
  if (term) {
    timing = "kernel";
    sigtermUs = term.record.tsUs;
    sigkillUs = kill?.record.tsUs ?? null;
  } else if (stop) {
    // Without the kernel: the harness's notes around the stop call. A program that died by
    // SIGKILL (137, no shutdown-end) was killed before stop() returned: its stop-end bounds
    // the SIGKILL from above (it adds the reaping).
    timing = "harness";
    sigtermUs = stop.record.tsUs;
    const stopEnd = findEvent(trial, "runtime", "stop-end");
    if (stopEnd && exitCode === 137 && probeEnd === null) sigkillUs = stopEnd.record.tsUs;
  }
  const shutdown = userTarget ? shutdownFromKernel(trial, kernel, target.programPath ?? "", sigtermUs, sigkillUs) : shutdownFromProbe(trial);
  const fields = (client?.record.fields ?? {}) as Record<string, unknown>;
  const shutdownEnd = shutdown.end !== null;
  const killed = sigkillUs !== null && !shutdownEnd;
  const outcome: StopOutcome = killed ? "killed" : shutdownEnd && sigkillUs === null ? "graceful" : "other";
  const handlerMs = request.handlerMs ?? null;
  return {
    trial: trial.id,
    stopTimeoutS: request.stopTimeoutS,
    handlerMs,
    path: request.path ?? "/slow",
    sigtermUs,
    sigkillUs,
    timing,
    sigtermToSigkillMs: sigtermUs !== null && sigkillUs !== null ? Math.round((sigkillUs - sigtermUs) / 100) / 10 : null,
    sigtermDeliveredTo: [...new Set(deliveries.map(({ r }) => r.pid).filter((p): p is number => p !== null))],
    sigkillDeliveredTo: [...new Set(killDeliveries.map(({ r }) => r.pid).filter((p): p is number => p !== null))],
    shutdownBegin: shutdown.begun,
    shutdownEnd,
    shutdownSource: shutdown.source,
    sigtermTakenBy: shutdown.takenBy,
    unseen: shutdown.unseen,
    userTarget,
    pid1Shell: target.shellForm === true,
    shutdownMs: shutdown.begin && shutdown.end ? Math.round((shutdown.end.us - shutdown.begin.us) / 100) / 10 : null,
    shutdownNeededMs: requestBegin && sigtermUs !== null && handlerMs !== null ? Math.round((requestBegin.record.tsUs + handlerMs * 1000 - sigtermUs) / 100) / 10 : null,
    exitCode,
    client: client
      ? { outcome: String(fields.outcome ?? "?"), status: typeof fields.status === "number" ? fields.status : null, error: typeof fields.error === "string" ? fields.error : null, atUs: client.record.tsUs }
      : null,
    outcome,
    refs: {
      sigterm: term ? observerRef(trial, "kernel", term.index) : (stop?.ref ?? null),
      sigkill: kill ? observerRef(trial, "kernel", kill.index) : null,
      sigtermDelivery: deliveries[0] ? observerRef(trial, "kernel", deliveries[0].i) : null,
      sigkillDelivery: killDeliveries[0] ? observerRef(trial, "kernel", killDeliveries[0].i) : null,
      stop: stop?.ref ?? null,
      requestBegin: requestBegin?.ref ?? null,
      shutdownBegin: shutdown.begin?.ref ?? null,
      shutdownEnd: shutdown.end?.ref ?? null,
      client: client?.ref ?? null,
      exit: exit?.ref ?? null,
    },
  };
}

interface ShutdownView {
  begun: boolean | null;
  begin: { us: number; ref: RecordRef } | null;
  end: { us: number; ref: RecordRef } | null;
  source: StopTrial["shutdownSource"];
  takenBy: SigtermTaker;
  unseen: string | null;
}

/** Our probe reports its signal, shutdown-begin and shutdown-end. */
function shutdownFromProbe(trial: TrialEvidence): ShutdownView {
  const begin = findEvent(trial, "probe", "shutdown-begin");
  const end = findEvent(trial, "probe", "shutdown-end");
  return {
    begun: begin !== null,
    begin: begin ? { us: begin.record.tsUs, ref: begin.ref } : null,
    end: end ? { us: end.record.tsUs, ref: end.ref } : null,
    source: "probe",
    takenBy: findEvent(trial, "probe", "signal") ? "notify" : null,
    unseen: null,
  };
}

/**
 * A user's program: SIGTERM handed to os/signal.process after the stop began is where its
 * graceful path begins; its exit before any SIGKILL is where it ended. Without the
 * os/signal.process uprobe (a stripped binary, a program that is not Go, no kernel
 * observer) whether a shutdown began cannot be told.
 */
function shutdownFromKernel(trial: TrialEvidence, kernel: readonly KernelRecord[], programPath: string, sigtermUs: number | null, sigkillUs: number | null): ShutdownView {
  const coverage = uprobeCoverage(kernel);
  const exec = programExec(kernel, programPath);
  const after = (us: number) => sigtermUs === null || us >= sigtermUs;
  const taken = uprobeHits(kernel, "os/signal.process", SIGTERM).find((h) => after(h.record.tsUs!));
  const died = uprobeHits(kernel, "runtime.dieFromSignal", SIGTERM).find((h) => after(h.record.tsUs!));
  const exit = exec ? processExit(kernel, exec.pid) : null;
  const ownEnd = exit !== null && (sigkillUs === null || exit.record.tsUs! < sigkillUs) ? { us: exit.record.tsUs!, ref: observerRef(trial, "kernel", exit.index) } : null;
  const view = { source: "kernel" as const, unseen: null };
  if (taken) {
    const begin = { us: taken.record.tsUs!, ref: observerRef(trial, "kernel", taken.index) };
    return { ...view, begun: true, begin, end: ownEnd, takenBy: "notify" };
  }
  if (died) return { ...view, begun: false, begin: null, end: null, takenBy: "runtime-default" };
  if (coverage.functions.has("os/signal.process")) return { ...view, begun: false, begin: null, end: null, takenBy: null };
  const unseen = !coverage.observed
    ? "no kernel observer: a user's program reports no shutdown, only the kernel's uprobes on os/signal.process show one begin (add --observe kernel)"
    : `no uprobe on os/signal.process (${coverage.note ?? "not in the program's symbol table"}): whether the program began a graceful shutdown cannot be seen`;
  return { begun: null, begin: null, end: null, source: null, takenBy: null, unseen };
}

/** The first signal_generate of sig to PID 1 (whoever sent it: runc, containerd, the harness). */
function firstGenerate(records: readonly KernelRecord[], sig: number, pid1: number | null): { index: number; record: Extract<KernelRecord, { kind: "signal-generate" }> } | null {
  for (let index = 0; index < records.length; index++) {
    const r = records[index]!;
    if (r.kind === "signal-generate" && r.sig === sig && (pid1 === null || r.targetPid === pid1) && r.tsUs !== null) return { index, record: r };
  }
  return null;
}

export const stopRefs = (t: StopTrial): RecordRef[] =>
  compact([t.refs.stop, t.refs.sigterm, t.refs.sigtermDelivery, t.refs.requestBegin, t.refs.shutdownBegin, t.refs.shutdownEnd, t.refs.sigkill, t.refs.sigkillDelivery, t.refs.client, t.refs.exit]);
