import type { RecordRef, TrialEvidence } from "../../src/evidence/schemas.js";
import type { KernelRecord } from "../../src/parse/kernel-records.js";
import { compact, containerPids, findEvent, observerRef } from "../shared/records.js";
import type { StopRequest } from "./request.js";

// One docker-stop-timeout trial read from its records: when SIGTERM and SIGKILL were
// generated (kernel; the harness's stop-begin note without it), whether the probe's
// Shutdown began and ended, the exit status, and what the HTTP client in flight saw.

const SIGTERM = 15;
const SIGKILL = 9;

export type StopOutcome = "graceful" | "killed" | "other";

export interface StopTrial {
  trial: string;
  stopTimeoutS: number;
  handlerMs: number;
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
  shutdownBegin: boolean;
  shutdownEnd: boolean;
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
  const term = firstGenerate(kernel, SIGTERM, pid1);
  const kill = firstGenerate(kernel, SIGKILL, pid1);
  const stop = findEvent(trial, "runtime", "stop-begin");
  const requestBegin = findEvent(trial, "probe", "request-begin");
  const begin = findEvent(trial, "probe", "shutdown-begin");
  const end = findEvent(trial, "probe", "shutdown-end");
  const client = findEvent(trial, "runtime", "client");
  const exit = findEvent(trial, "runtime", "exit");
  const exitCode = typeof exit?.record.fields.code === "number" ? exit.record.fields.code : null;
  const deliveriesOf = (sig: number) => kernel.map((r, i) => ({ r, i })).filter(({ r }) => r.kind === "signal-deliver" && r.sig === sig);
  const deliveries = deliveriesOf(SIGTERM);
  const killDeliveries = deliveriesOf(SIGKILL);

  let sigtermUs: number | null = null;
  let sigkillUs: number | null = null;
  let timing: StopTrial["timing"] = null;
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
    if (stopEnd && exitCode === 137 && end === null) sigkillUs = stopEnd.record.tsUs;
  }
  const fields = (client?.record.fields ?? {}) as Record<string, unknown>;
  const shutdownBegin = begin !== null;
  const shutdownEnd = end !== null;
  const killed = sigkillUs !== null && !shutdownEnd;
  const outcome: StopOutcome = killed ? "killed" : shutdownEnd && sigkillUs === null ? "graceful" : "other";
  return {
    trial: trial.id,
    stopTimeoutS: request.stopTimeoutS,
    handlerMs: request.handlerMs,
    sigtermUs,
    sigkillUs,
    timing,
    sigtermToSigkillMs: sigtermUs !== null && sigkillUs !== null ? Math.round((sigkillUs - sigtermUs) / 100) / 10 : null,
    sigtermDeliveredTo: [...new Set(deliveries.map(({ r }) => r.pid).filter((p): p is number => p !== null))],
    sigkillDeliveredTo: [...new Set(killDeliveries.map(({ r }) => r.pid).filter((p): p is number => p !== null))],
    shutdownBegin,
    shutdownEnd,
    shutdownMs: begin && end ? Math.round((end.record.tsUs - begin.record.tsUs) / 100) / 10 : null,
    shutdownNeededMs: requestBegin && sigtermUs !== null ? Math.round((requestBegin.record.tsUs + request.handlerMs * 1000 - sigtermUs) / 100) / 10 : null,
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
      shutdownBegin: begin?.ref ?? null,
      shutdownEnd: end?.ref ?? null,
      client: client?.ref ?? null,
      exit: exit?.ref ?? null,
    },
  };
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
