import { z } from "zod";
import { OBSERVER_NAMES } from "../capture/observer.js";
import { GdbRecord } from "../parse/gdb-records.js";
import { KernelRecord } from "../parse/kernel-records.js";
import { ProbeRecord, StraceRecord } from "../parse/records.js";
import { INIT_KINDS, RUNTIME_KINDS } from "../runtime/runtime.js";

// Everything a bundle stores is described here and validated on write and on read.
// Version 2 keys records by observer and lets scenarios add variant axes and request
// fields; version 1 bundles are upgraded on read (see upgradeEvidenceV1). Version 3 keeps
// the same records but stores each trial's records and timeline in files of their own
// (src/bundle/trial-files.ts), so a million records are never one JSON document.
export const SCHEMA_VERSION = 3;
export const READABLE_SCHEMA_VERSIONS: readonly number[] = [1, 2, 3];

/**
 * One point of a scenario's matrix: the runtime, the init, the Go toolchain, and any axes
 * the scenario declares itself (e.g. tz, zoneinfo), each by name; null means "unset".
 */
export const Variant = z
  .object({
    runtime: z.enum(RUNTIME_KINDS as [string, ...string[]]),
    init: z.enum(INIT_KINDS as [string, ...string[]]),
    /** The Go toolchain the probe was built with, as it reports itself (e.g. go1.26.8). */
    go: z.string(),
  })
  .catchall(z.string().nullable());
export type Variant = z.infer<typeof Variant>;

/** Extra axes in name order, so the key of a variant does not depend on how it was built. */
export const variantAxes = (v: Variant): [string, string | null][] =>
  Object.entries(v)
    .filter(([k]) => k !== "runtime" && k !== "init" && k !== "go")
    .map(([k, value]) => [k, value as string | null] as [string, string | null])
    .sort(([a], [b]) => (a < b ? -1 : 1));

/** A path component naming the variant: runtime-init-go, then each extra axis's value. */
export const variantKey = (v: Variant): string =>
  [v.runtime, v.init, v.go, ...variantAxes(v).map(([k, value]) => `${k}=${value ?? "unset"}`)].join("-").replace(/[^A-Za-z0-9_.=+-]/g, "_");

export const sameVariant = (a: Variant, b: Variant): boolean => variantKey(a) === variantKey(b);

/** Where a record comes from: an observer, the probe's own report, or the harness (runtime.jsonl). */
export const RecordSource = z.enum(["strace", "kernel", "gdb", "probe", "runtime"]);
export type RecordSource = z.infer<typeof RecordSource>;

/** Which record of which trial proves a point. */
export const RecordRef = z.object({
  trial: z.string(),
  source: RecordSource,
  index: z.number().int(),
  /** The record as a human reads it, so a finding is legible without the bundle. */
  text: z.string(),
});
export type RecordRef = z.infer<typeof RecordRef>;

export const TimelineEntry = z.object({
  /** µs since the trial's origin (the gate's exec). */
  atUs: z.number().int(),
  source: RecordSource,
  index: z.number().int(),
  pid: z.number().int().nullable(),
  text: z.string(),
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

/**
 * What a scenario asked of one trial. Every request names its observer set and why it was
 * asked; the rest (offsets, bursts…) is the scenario's own, validated by the scenario.
 */
export const TrialRequest = z
  .object({
    observers: z.array(z.enum(OBSERVER_NAMES as [string, ...string[]])),
    /** Why the sweep asked for this trial, e.g. "calibrate" or "aim:before-handler". */
    intent: z.string(),
  })
  .catchall(z.unknown());
export type TrialRequest = z.infer<typeof TrialRequest>;

/** The instant every record of a trial is timed from: the gate's exec, as the best observer saw it. */
export const Origin = z.object({
  /** CLOCK_REALTIME µs. */
  us: z.number().int(),
  /** kernel: sched_process_exec; strace: the gate's execve returning; driver: its EOF on the gate FIFO (can lag). */
  source: z.enum(["kernel", "strace", "driver"]),
});
export type Origin = z.infer<typeof Origin>;

export const TrialEvidence = z.object({
  id: z.string(),
  variant: Variant,
  request: TrialRequest,
  /** Bundle-relative paths of the raw captures. */
  raw: z.record(z.string(), z.string()),
  /** CLOCK_REALTIME µs of the gate's exec, the origin of the timeline (origin.us). */
  originUs: z.number().int(),
  origin: Origin,
  /** Records by source; an observer that did not run has no key. */
  records: z.object({
    strace: z.array(StraceRecord).optional(),
    kernel: z.array(KernelRecord).optional(),
    gdb: z.array(GdbRecord).optional(),
    probe: z.array(ProbeRecord),
    runtime: z.array(ProbeRecord),
  }),
  timeline: z.array(TimelineEntry),
});
export type TrialEvidence = z.infer<typeof TrialEvidence>;

/** A trial without its records and timeline: what evidence.json holds of it from version 3. */
export const TrialHeader = TrialEvidence.omit({ records: true, timeline: true });
export type TrialHeader = z.infer<typeof TrialHeader>;

/** The schema of one record of each source (probe and runtime records are both probe output). */
export const RECORD_SCHEMAS: Record<RecordSource, z.ZodType> = { strace: StraceRecord, kernel: KernelRecord, gdb: GdbRecord, probe: ProbeRecord, runtime: ProbeRecord };

export const Verdict = z.enum(["confirmed", "refuted", "inconclusive"]);
export type Verdict = z.infer<typeof Verdict>;

export const Finding = z.object({
  claim: z.string(),
  statement: z.string(),
  variant: Variant,
  verdict: Verdict,
  summary: z.string(),
  evidence: z.array(RecordRef),
  /** Numbers the verdict rests on, named with their unit (e.g. handlerUsWithStrace). */
  measurements: z.record(z.string(), z.number().nullable()).optional(),
  /** Structured figures a scenario adds for scripts (e.g. sigterm-race's phase boundaries per observer set). */
  details: z.record(z.string(), z.unknown()).optional(),
});
export type Finding = z.infer<typeof Finding>;
