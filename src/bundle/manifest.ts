import { z } from "zod";
import { HostFacts } from "../capture/host-facts.js";
import { READABLE_SCHEMA_VERSIONS, Variant } from "../evidence/schemas.js";

export const MANIFEST = "manifest.json";
export const EVIDENCE = "evidence.json";
export const FINDINGS = "findings.json";

export { HostFacts };

export const BundleFile = z.object({
  path: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export type BundleFile = z.infer<typeof BundleFile>;

export const Manifest = z.object({
  schemaVersion: z.number().int().refine((v) => READABLE_SCHEMA_VERSIONS.includes(v), "unknown schema version"),
  tool: z.object({ name: z.literal("forensics"), version: z.string() }),
  /** `partial`: the run stopped early (Ctrl-C, a harness fault); `reason` says why. */
  status: z.enum(["complete", "partial"]),
  reason: z.string().optional(),
  runId: z.string(),
  scenario: z.string(),
  params: z.record(z.string(), z.unknown()),
  variants: z.array(Variant),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  host: HostFacts.optional(),
  files: z.array(BundleFile),
});
export type Manifest = z.infer<typeof Manifest>;
