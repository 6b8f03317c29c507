import type { RecordRef, TrialEvidence } from "../../src/evidence/schemas.js";
import { describeEvent } from "../../src/parse/describe.js";
import { describeKernelRecord } from "../../src/parse/kernel-describe.js";
import { describeGdbRecord } from "../../src/capture/gdb.js";
import { describeStrace } from "../../src/parse/describe.js";
import type { ProbeEvent, ProbeRecord } from "../../src/parse/records.js";

// Reading a trial's records the way every signal scenario does: events of the probe and
// of the harness (runtime.jsonl) by name, and references to any record for a finding.

export interface FoundEvent {
  record: ProbeEvent;
  ref: RecordRef;
  index: number;
}

/** The first (or, with last, the last) event `ev` of the probe's or the harness's log. */
export function findEvent(trial: TrialEvidence, source: "probe" | "runtime", ev: string, last = false): FoundEvent | null {
  const records: ProbeRecord[] = trial.records[source];
  const match = (r: ProbeRecord) => r.kind === "probe" && r.ev === ev;
  let index = records.findIndex(match);
  if (last) for (let i = records.length - 1; i >= 0; i--) if (match(records[i]!)) {
    index = i;
    break;
  }
  if (index < 0) return null;
  const record = records[index] as ProbeEvent;
  return { record, index, ref: { trial: trial.id, source, index, text: describeEvent(record) } };
}

/** Every event `ev` of a log, in order. */
export function findEvents(trial: TrialEvidence, source: "probe" | "runtime", ev: string): FoundEvent[] {
  const out: FoundEvent[] = [];
  trial.records[source].forEach((r, index) => {
    if (r.kind === "probe" && r.ev === ev) out.push({ record: r, index, ref: { trial: trial.id, source, index, text: describeEvent(r) } });
  });
  return out;
}

/** A reference to record `index` of an observer's records, described as that observer describes it. */
export function observerRef(trial: TrialEvidence, source: "kernel" | "gdb" | "strace", index: number): RecordRef {
  const text =
    source === "kernel"
      ? describeKernelRecord(trial.records.kernel![index]!)
      : source === "gdb"
        ? describeGdbRecord(trial.records.gdb![index]!)
        : describeStrace(trial.records.strace![index]!);
  return { trial: trial.id, source, index, text };
}

/** Host PID of the program: the container's PID 1, or under an init the process the container event says ran it. */
export function containerPids(trial: TrialEvidence): { pid1: number | null; gatePid: number | null } {
  const c = findEvent(trial, "runtime", "container")?.record.fields;
  return { pid1: typeof c?.pid === "number" ? c.pid : null, gatePid: typeof c?.gatePid === "number" ? c.gatePid : null };
}

export const compact = (refs: (RecordRef | null | undefined)[]): RecordRef[] => refs.filter((r): r is RecordRef => r != null);

export const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
};

export interface Spread {
  min: number;
  median: number;
  max: number;
  n: number;
}

export const spread = (values: number[]): Spread | null =>
  values.length === 0 ? null : { min: Math.min(...values), median: median(values), max: Math.max(...values), n: values.length };
