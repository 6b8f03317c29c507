import { lstat, readFile } from "node:fs/promises";
import { isAbsolute, join, normalize } from "node:path";
import type { z } from "zod";
import { HarnessError } from "../errors.js";
import { READABLE_SCHEMA_VERSIONS, TrialEvidence } from "../evidence/schemas.js";
import { EVIDENCE, FINDINGS, MANIFEST, Manifest } from "./manifest.js";
import { EvidenceFile, FindingsFile, sha256File } from "./write.js";

export interface Bundle {
  dir: string;
  manifest: Manifest;
  evidence: z.infer<typeof EvidenceFile>;
  findings: z.infer<typeof FindingsFile>;
}

/**
 * Reads a bundle and trusts nothing in it: the schema version must be known, every listed
 * file must stay inside the bundle, be a regular file and match its sha256.
 */
export async function readBundle(dir: string): Promise<Bundle> {
  const fail = (why: string): never => {
    throw new HarnessError("BAD_BUNDLE", `${dir}: ${why}`);
  };
  const raw = await readJson(join(dir, MANIFEST), fail);
  const version = (raw as { schemaVersion?: unknown })?.schemaVersion;
  if (typeof version !== "number" || !READABLE_SCHEMA_VERSIONS.includes(version)) {
    fail(`${MANIFEST} has schema version ${JSON.stringify(version)}; this forensics reads versions ${READABLE_SCHEMA_VERSIONS.join(" and ")}`);
  }
  const parsed = Manifest.safeParse(raw);
  if (!parsed.success) fail(`${MANIFEST} is malformed: ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`);
  const manifest = parsed.data!;

  for (const file of manifest.files) {
    if (isAbsolute(file.path) || normalize(file.path).startsWith("..") || file.path.split("/").includes("..")) fail(`refusing a path outside the bundle: ${file.path}`);
    const path = join(dir, file.path);
    const st = await lstat(path).catch(() => fail(`missing file listed in the manifest: ${file.path}`));
    if (!st.isFile()) fail(`not a regular file: ${file.path}`);
    if (st.size !== file.bytes || (await sha256File(path)) !== file.sha256) fail(`${file.path} does not match its sha256 in the manifest (modified or corrupt)`);
  }
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const name of [EVIDENCE, FINDINGS]) if (!listed.has(name)) fail(`${name} is not listed in the manifest${manifest.status === "partial" ? ` (partial bundle: ${manifest.reason ?? "no reason"})` : ""}`);

  const evidenceJson = await readJson(join(dir, EVIDENCE), fail);
  const evidence = EvidenceFile.safeParse(manifest.schemaVersion === 1 ? upgradeEvidenceV1(evidenceJson) : evidenceJson);
  if (!evidence.success) fail(`${EVIDENCE} is malformed: ${evidence.error.issues[0]?.message}`);
  const findingsJson = (await readJson(join(dir, FINDINGS), fail)) as { schemaVersion?: unknown };
  const findings = FindingsFile.safeParse(manifest.schemaVersion === 1 ? { ...findingsJson, schemaVersion: 2 } : findingsJson);
  if (!findings.success) fail(`${FINDINGS} is malformed: ${findings.error.issues[0]?.message}`);
  return { dir, manifest, evidence: evidence.data!, findings: findings.data! };
}

async function readJson(path: string, fail: (why: string) => never): Promise<unknown> {
  const text = await readFile(path, "utf8").catch((e: NodeJS.ErrnoException) => fail(`cannot read ${path}: ${e.code ?? e.message}`));
  try {
    return JSON.parse(text);
  } catch {
    return fail(`${path} is not valid JSON`);
  }
}

/**
 * Version 1 evidence: requests said `strace: true|false` instead of naming the observer set,
 * and the origin was always the driver's sight of the exec.
 */
function upgradeEvidenceV1(json: unknown): unknown {
  const file = json as { schemaVersion?: unknown; trials?: unknown };
  if (!Array.isArray(file?.trials)) return json;
  const trials = file.trials.map((t: Record<string, unknown>): unknown => {
    const { strace, ...request } = (t.request ?? {}) as Record<string, unknown>;
    const upgraded = { ...t, request: { ...request, observers: strace ? ["strace"] : [] }, origin: { us: t.originUs, source: "driver" } };
    return TrialEvidence.safeParse(upgraded).success ? upgraded : t;
  });
  return { ...file, schemaVersion: 2, trials };
}
