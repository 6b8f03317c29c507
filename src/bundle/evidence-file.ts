import { z } from "zod";
import { Finding, RecordSource, SCHEMA_VERSION, TrialEvidence, TrialHeader } from "../evidence/schemas.js";

// The JSON files of a bundle. evidence.json holds every trial whole up to version 2; from
// version 3 it holds each trial's header and names the files with its records and timeline.

export const EvidenceFileV2 = z.object({ schemaVersion: z.literal(2), trials: z.array(TrialEvidence) });

/** A trial in a version 3 evidence.json: its header, and its files (bundle-relative, listed in the manifest). */
export const TrialEntry = TrialHeader.extend({
  files: z.object({
    /** One record per line, per source; probe and runtime always, observers when they ran. */
    records: z.object({ strace: z.string().optional(), kernel: z.string().optional(), gdb: z.string().optional(), probe: z.string(), runtime: z.string() }) satisfies z.ZodType<Partial<Record<RecordSource, string>>>,
    /** The timeline as columns, with where each record starts in its file (timeline-file.ts). */
    timeline: z.string(),
  }),
});
export type TrialEntry = z.infer<typeof TrialEntry>;

export const EvidenceFile = z.object({ schemaVersion: z.literal(SCHEMA_VERSION), trials: z.array(TrialEntry) });
export type EvidenceFile = z.infer<typeof EvidenceFile>;

/** Findings have the same shape in every version; older ones are read as this one. */
export const FindingsFile = z.object({ schemaVersion: z.literal(SCHEMA_VERSION), findings: z.array(Finding) });
export type FindingsFile = z.infer<typeof FindingsFile>;
