import { lstat, readFile, realpath } from "node:fs/promises";
import { join, sep } from "node:path";
import { HarnessError } from "../errors.js";
import { READABLE_SCHEMA_VERSIONS, SCHEMA_VERSION, TrialEvidence, type RecordSource } from "../evidence/schemas.js";
import { storedTrial, trialFromEvidence, type BundleTrial } from "./bundle-trial.js";
import { EvidenceFile, EvidenceFileV2, FindingsFile, type TrialEntry } from "./evidence-file.js";
import { sha256Files } from "./hash.js";
import { EVIDENCE, FINDINGS, MANIFEST, Manifest, type BundleFile } from "./manifest.js";
import { decodeTimeline, TimelineFileError } from "./timeline-file.js";

export interface Bundle {
  dir: string;
  manifest: Manifest;
  trials: BundleTrial[];
  findings: FindingsFile;
}

/** A bundle with every trial whole, for reports and traces (not for a replay). */
export interface LoadedBundle {
  manifest: Manifest;
  findings: FindingsFile;
  trials: TrialEvidence[];
}

/** Every trial of a bundle whole, each record validated (BAD_BUNDLE on the first that fails). */
export const loadBundle = (bundle: Bundle): LoadedBundle => ({ manifest: bundle.manifest, findings: bundle.findings, trials: bundle.trials.map((t) => t.evidence()) });

/** "1, 2 and 3": the versions this forensics reads, for messages. */
export const readableVersions = (): string => `${READABLE_SCHEMA_VERSIONS.slice(0, -1).join(", ")} and ${READABLE_SCHEMA_VERSIONS.at(-1)}`;

/** A listed path that stays inside the bundle and names one file one way. */
export function isSafeBundlePath(path: string): boolean {
  return path !== "" && !path.startsWith("/") && !/[\\\u0000-\u001f\u007f]/.test(path) && path.split("/").every((s) => s !== "" && s !== "." && s !== "..");
}

/**
 * Reads a bundle and trusts nothing in it: the schema version must be known, every listed
 * file must stay inside the bundle (no link on the way), be a regular file of its listed
 * size and match its sha256. Hashing runs in worker threads while the evidence is read
 * and checked; nothing is returned unless both succeed. A version 3 trial's records are
 * read later, one at a time (see BundleTrial).
 */
export async function readBundle(dir: string): Promise<Bundle> {
  const fail = (why: string): never => {
    throw new HarnessError("BAD_BUNDLE", `${dir}: ${why}`);
  };
  const raw = await readJson(join(dir, MANIFEST), fail);
  const version = (raw as { schemaVersion?: unknown })?.schemaVersion;
  if (typeof version !== "number" || !READABLE_SCHEMA_VERSIONS.includes(version)) {
    fail(`${MANIFEST} has schema version ${JSON.stringify(version)}; this forensics reads versions ${readableVersions()}`);
  }
  const parsed = Manifest.safeParse(raw);
  if (!parsed.success) fail(`${MANIFEST} is malformed: ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`);
  const manifest = parsed.data!;

  const root = await realpath(dir).catch(() => fail("cannot resolve the bundle directory"));
  const listed = new Map<string, BundleFile>();
  for (const file of manifest.files) {
    if (!isSafeBundlePath(file.path) || file.path === MANIFEST) fail(`refusing a path outside the bundle: ${file.path}`);
    if (listed.has(file.path)) fail(`${file.path} is listed twice in the manifest`);
    listed.set(file.path, file);
    const path = join(dir, file.path);
    const st = await lstat(path).catch(() => fail(`missing file listed in the manifest: ${file.path}`));
    if (!st.isFile()) fail(`not a regular file: ${file.path}`);
    // lstat sees only the last component: a directory on the way may be a link out of the bundle.
    if (!(await realpath(path)).startsWith(root + sep)) fail(`refusing a path that leads outside the bundle through a link: ${file.path}`);
    if (st.size !== file.bytes) fail(`${file.path} does not match its sha256 in the manifest (it is ${st.size} bytes, the manifest says ${file.bytes}: modified or truncated)`);
  }

  const hashing = sha256Files(manifest.files.map((f) => ({ path: join(dir, f.path), bytes: f.bytes })));
  const hasContent = listed.has(EVIDENCE) && listed.has(FINDINGS);
  const reading = hasContent ? readContent(dir, manifest, listed).then((value) => ({ value }), (error: unknown) => ({ error })) : null;
  const hashes = await hashing;
  for (const [i, file] of manifest.files.entries()) {
    const h = hashes[i]!;
    if ("error" in h) return fail(`cannot read ${file.path}: ${h.error}`);
    if (h.sha256 !== file.sha256) fail(`${file.path} does not match its sha256 in the manifest (modified or corrupt)`);
  }
  for (const name of [EVIDENCE, FINDINGS]) if (!listed.has(name)) fail(`${name} is not listed in the manifest${manifest.status === "partial" ? ` (partial bundle: ${manifest.reason ?? "no reason"})` : ""}`);
  const content = await reading!;
  if ("error" in content) throw content.error;
  return { dir, manifest, ...content.value };

  async function readContent(dir: string, manifest: Manifest, files: Map<string, BundleFile>): Promise<Pick<Bundle, "trials" | "findings">> {
    const findingsJson = (await readJson(join(dir, FINDINGS), fail)) as { schemaVersion?: unknown };
    const findings = FindingsFile.safeParse(manifest.schemaVersion < SCHEMA_VERSION ? { ...findingsJson, schemaVersion: SCHEMA_VERSION } : findingsJson);
    if (!findings.success) fail(`${FINDINGS} is malformed: ${findings.error.issues[0]?.message}`);
    const evidenceJson = await readJson(join(dir, EVIDENCE), fail);
    if (manifest.schemaVersion < 3) {
      const evidence = EvidenceFileV2.safeParse(manifest.schemaVersion === 1 ? upgradeEvidenceV1(evidenceJson) : evidenceJson);
      if (!evidence.success) fail(`${EVIDENCE} is malformed: ${evidence.error.issues[0]?.message}`);
      return { trials: evidence.data!.trials.map(trialFromEvidence), findings: findings.data! };
    }
    const evidence = EvidenceFile.safeParse(evidenceJson);
    if (!evidence.success) fail(`${EVIDENCE} is malformed: ${evidence.error.issues[0]?.path.join(".")}: ${evidence.error.issues[0]?.message}`);
    const trials: BundleTrial[] = [];
    for (const entry of evidence.data!.trials) trials.push(storedTrial(dir, entry, await readTimeline(dir, entry, files, fail)));
    return { trials, findings: findings.data! };
  }
}

/** A version 3 trial's timeline, decoded and checked against the record files it indexes. */
async function readTimeline(dir: string, entry: TrialEntry, files: Map<string, BundleFile>, fail: (why: string) => never) {
  const listedFile = (path: string): BundleFile => files.get(path) ?? fail(`trial ${entry.id} names ${path}, which the manifest does not list`);
  const recordBytes: Partial<Record<RecordSource, number>> = {};
  for (const [source, path] of Object.entries(entry.files.records) as [RecordSource, string | undefined][]) if (path !== undefined) recordBytes[source] = listedFile(path).bytes;
  listedFile(entry.files.timeline);
  const buf = await readFile(join(dir, entry.files.timeline)).catch((e: NodeJS.ErrnoException) => fail(`cannot read ${entry.files.timeline}: ${e.code ?? e.message}`));
  try {
    return decodeTimeline(buf, recordBytes);
  } catch (err) {
    if (err instanceof TimelineFileError) fail(`${entry.files.timeline} is malformed: ${err.message}`);
    throw err;
  }
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
export function upgradeEvidenceV1(json: unknown): unknown {
  const file = json as { schemaVersion?: unknown; trials?: unknown };
  if (!Array.isArray(file?.trials)) return json;
  const trials = file.trials.map((t: Record<string, unknown>): unknown => {
    const { strace, ...request } = (t.request ?? {}) as Record<string, unknown>;
    const upgraded = { ...t, request: { ...request, observers: strace ? ["strace"] : [] }, origin: { us: t.originUs, source: "driver" } };
    return TrialEvidence.safeParse(upgraded).success ? upgraded : t;
  });
  return { ...file, schemaVersion: 2, trials };
}
