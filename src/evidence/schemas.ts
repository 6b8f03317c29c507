import { z } from "zod";
import { ProbeRecord, StraceRecord } from "../parse/records.js";
import { INIT_KINDS, RUNTIME_KINDS } from "../runtime/runtime.js";

// Everything a bundle stores is described here and validated on write and on read.
export const SCHEMA_VERSION = 1;

export const Variant = z.object({
  runtime: z.enum(RUNTIME_KINDS as [string, ...string[]]),
  init: z.enum(INIT_KINDS as [string, ...string[]]),
  /** The Go toolchain the probe was built with, as it reports itself (e.g. go1.26.8). */
  go: z.string(),
});
export type Variant = z.infer<typeof Variant>;

export const variantKey = (v: Variant): string => `${v.runtime}-${v.init}-${v.go}`;

/** Which record of which trial proves a point. */
export const RecordRef = z.object({
  trial: z.string(),
  source: z.enum(["strace", "probe", "runtime"]),
  index: z.number().int(),
  /** The record as a human reads it, so a finding is legible without the bundle. */
  text: z.string(),
});
export type RecordRef = z.infer<typeof RecordRef>;

export const TimelineEntry = z.object({
  /** µs since the trial's origin (the gate's exec). */
  atUs: z.number().int(),
  source: z.enum(["strace", "probe", "runtime"]),
  index: z.number().int(),
  pid: z.number().int().nullable(),
  text: z.string(),
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

export const TrialRequest = z.object({
  /** µs after the exec at which the driver sends the signal. */
  offsetUs: z.number().int().nonnegative(),
  strace: z.boolean(),
  /** Why the sweep asked for this trial, e.g. "calibrate" or "aim:before-handler". */
  intent: z.string(),
});
export type TrialRequest = z.infer<typeof TrialRequest>;

export const TrialEvidence = z.object({
  id: z.string(),
  variant: Variant,
  request: TrialRequest,
  /** Bundle-relative paths of the raw captures. */
  raw: z.record(z.string(), z.string()),
  /** CLOCK_REALTIME µs of the gate's exec, the origin of the timeline. */
  originUs: z.number().int(),
  records: z.object({
    strace: z.array(StraceRecord),
    probe: z.array(ProbeRecord),
    runtime: z.array(ProbeRecord),
  }),
  timeline: z.array(TimelineEntry),
});
export type TrialEvidence = z.infer<typeof TrialEvidence>;

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
});
export type Finding = z.infer<typeof Finding>;
