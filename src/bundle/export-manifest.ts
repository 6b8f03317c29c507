import { z } from "zod";
import { Manifest } from "./manifest.js";
import { REDACTION_RULES } from "./redact.js";

/**
 * What `forensics export` did to a bundle's captures: which rules replaced how many values
 * (never the values). Absent from a bundle that was never exported.
 */
export const RedactionSummary = z.object({
  applied: z.boolean(),
  stripHost: z.boolean(),
  counts: z.partialRecord(z.enum(REDACTION_RULES), z.number().int().nonnegative()),
});
export type RedactionSummary = z.infer<typeof RedactionSummary>;

/** A manifest as written by `run` or by `export` (which adds `redaction`). */
export const ExportedManifest = Manifest.extend({ redaction: RedactionSummary.optional() });
export type ExportedManifest = z.infer<typeof ExportedManifest>;
