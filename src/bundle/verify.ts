import { createReadStream } from "node:fs";
import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { READABLE_SCHEMA_VERSIONS, SCHEMA_VERSION, type RecordSource } from "../evidence/schemas.js";
import { parseRecord } from "./bundle-trial.js";
import { EvidenceFile, EvidenceFileV2, FindingsFile, type TrialEntry } from "./evidence-file.js";
import { ExportedManifest } from "./export-manifest.js";
import { sha256Files } from "./hash.js";
import { EVIDENCE, FINDINGS, MANIFEST } from "./manifest.js";
import { isSafeBundlePath, readableVersions, upgradeEvidenceV1 } from "./read.js";
import { decodeTimeline, TimelineFileError, type RecordOffsets } from "./timeline-file.js";

/** One thing wrong with a bundle; `path` is bundle-relative when the problem is a file's. */
export interface BundleProblem {
  path?: string;
  problem: string;
}

export interface BundleCheck {
  /** null when manifest.json itself is unreadable, not JSON, of another version or malformed. */
  manifest: ExportedManifest | null;
  problems: BundleProblem[];
}

export interface VerifyOptions {
  /** Accept a bundle whose run was cut short (status "partial"): its files must still match. */
  allowPartial?: boolean;
  /**
   * false: check a version 3 bundle's record files by their size and hash only, not record by
   * record (opening an archive, whose records the reader validates as it uses them).
   */
  records?: boolean;
}

/**
 * Checks a bundle directory and reports every problem, not just the first: the schema
 * version, the manifest's shape, every listed file (inside the bundle, a regular file, its
 * size and sha256), that nothing unlisted is present, and that evidence and findings parse
 * (from version 3: each trial's timeline file, and every record against its schema).
 */
export async function checkBundleDir(dir: string, options: VerifyOptions = {}): Promise<BundleCheck> {
  const problems: BundleProblem[] = [];
  const fail = (problem: string): BundleCheck => ({ manifest: null, problems: [{ path: MANIFEST, problem }] });

  const manifestStat = await lstat(join(dir, MANIFEST)).catch(() => null);
  if (manifestStat !== null && !manifestStat.isFile()) return fail("not a regular file (links and devices are refused)");
  const text = await readFile(join(dir, MANIFEST), "utf8").catch((e: NodeJS.ErrnoException) => e);
  if (text instanceof Error) return fail(text.code === "ENOENT" ? "missing: this is not a bundle directory" : `cannot read it: ${text.code ?? text.message}`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail("is not valid JSON");
  }
  const version = (raw as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (typeof version !== "number" || !READABLE_SCHEMA_VERSIONS.includes(version)) return fail(`has schema version ${JSON.stringify(version)}; this forensics reads versions ${readableVersions()}`);
  const parsed = ExportedManifest.safeParse(raw);
  if (!parsed.success) return { manifest: null, problems: parsed.error.issues.map((i) => ({ path: MANIFEST, problem: `malformed at ${i.path.join(".") || "(root)"}: ${i.message}` })) };
  const manifest = parsed.data;

  if (manifest.status === "partial" && !options.allowPartial) {
    problems.push({ problem: `partial bundle (the run was cut short: ${manifest.reason ?? "no reason given"}); pass --allow-partial to accept one` });
  }
  const listed = new Map<string, number>();
  const toHash: { path: string; bytes: number }[] = [];
  for (const file of manifest.files) {
    if (!isSafeBundlePath(file.path) || file.path === MANIFEST) {
      problems.push({ path: file.path, problem: "listed path is outside the bundle or not canonical (refused)" });
      continue;
    }
    if (listed.has(file.path)) {
      problems.push({ path: file.path, problem: "listed twice in the manifest" });
      continue;
    }
    listed.set(file.path, file.bytes);
    const st = await lstat(join(dir, file.path)).catch(() => null);
    if (st === null) problems.push({ path: file.path, problem: "listed in the manifest but missing" });
    else if (!st.isFile()) problems.push({ path: file.path, problem: "not a regular file (links and devices are refused)" });
    else if (st.size !== file.bytes) problems.push({ path: file.path, problem: `is ${st.size} bytes, the manifest says ${file.bytes} (modified or truncated)` });
    else toHash.push({ path: file.path, bytes: file.bytes });
  }
  const hashes = await sha256Files(toHash.map((f) => ({ path: join(dir, f.path), bytes: f.bytes })));
  const expected = new Map(manifest.files.map((f) => [f.path, f.sha256]));
  for (const [i, file] of toHash.entries()) {
    const h = hashes[i]!;
    if ("error" in h) problems.push({ path: file.path, problem: `cannot be read (${h.error})` });
    else if (h.sha256 !== expected.get(file.path)) problems.push({ path: file.path, problem: "does not match its sha256 in the manifest (modified or corrupt)" });
  }
  const present = await walkNonDirectories(dir).catch((err: NodeJS.ErrnoException) => {
    problems.push({ problem: `cannot list the bundle's files (${err.code ?? err.message})` });
    return [];
  });
  for (const { path, link } of present) {
    if (path !== MANIFEST && !listed.has(path)) problems.push({ path, problem: `present but not listed in the manifest${link ? " (a symbolic link)" : ""}` });
  }

  const readJson = async (name: string): Promise<{ value: unknown } | null> => {
    if (!listed.has(name)) {
      if (manifest.status === "complete") problems.push({ path: name, problem: "not listed in the manifest, which says the bundle is complete" });
      return null;
    }
    if (problems.some((p) => p.path === name)) return null;
    const content = await readFile(join(dir, name), "utf8").catch(() => null);
    if (content === null) {
      problems.push({ path: name, problem: "cannot be read" });
      return null;
    }
    try {
      return { value: JSON.parse(content) };
    } catch {
      problems.push({ path: name, problem: "is not valid JSON" });
      return null;
    }
  };
  const malformed = (name: string, error: { issues: { path: PropertyKey[]; message: string }[] }): void => {
    problems.push({ path: name, problem: `malformed at ${error.issues[0]?.path.join(".")}: ${error.issues[0]?.message}` });
  };
  const findings = await readJson(FINDINGS);
  if (findings !== null) {
    const value = findings.value as { schemaVersion?: unknown } | null;
    const result = FindingsFile.safeParse(manifest.schemaVersion < SCHEMA_VERSION && typeof value === "object" && value !== null ? { ...value, schemaVersion: SCHEMA_VERSION } : value);
    if (!result.success) malformed(FINDINGS, result.error);
  }
  const evidence = await readJson(EVIDENCE);
  if (evidence === null) return { manifest, problems };
  if (manifest.schemaVersion < 3) {
    const result = EvidenceFileV2.safeParse(manifest.schemaVersion === 1 ? upgradeEvidenceV1(evidence.value) : evidence.value);
    if (!result.success) malformed(EVIDENCE, result.error);
    return { manifest, problems };
  }
  const result = EvidenceFile.safeParse(evidence.value);
  if (!result.success) {
    malformed(EVIDENCE, result.error);
    return { manifest, problems };
  }
  for (const trial of result.data.trials) problems.push(...(await checkTrialFiles(dir, trial, listed, new Set(problems.flatMap((p) => (p.path === undefined ? [] : [p.path]))), options.records ?? true)));
  return { manifest, problems };
}

// Enough to show what is wrong with a record file without printing a million lines.
const RECORD_PROBLEMS_SHOWN = 3;

/** A version 3 trial's files: listed, a timeline that decodes, and (with `records`) every record valid where the timeline says it starts. */
async function checkTrialFiles(dir: string, trial: TrialEntry, listed: Map<string, number>, bad: Set<string>, records: boolean): Promise<BundleProblem[]> {
  const files = [trial.files.timeline, ...Object.values(trial.files.records)];
  const unlisted = files.filter((f) => !listed.has(f));
  if (unlisted.length > 0) return unlisted.map((f) => ({ path: EVIDENCE, problem: `trial ${trial.id} names ${f}, which the manifest does not list` }));
  // A file that failed its size or hash is already reported; reading it would say nothing more.
  if (files.some((f) => bad.has(f))) return [];
  const recordBytes = Object.fromEntries(Object.entries(trial.files.records).map(([s, f]) => [s, listed.get(f)!]));
  let offsets: RecordOffsets;
  try {
    offsets = decodeTimeline(await readFile(join(dir, trial.files.timeline)), recordBytes).offsets;
  } catch (err) {
    if (err instanceof TimelineFileError) return [{ path: trial.files.timeline, problem: `malformed: ${err.message}` }];
    throw err;
  }
  if (!records) return [];
  const problems: BundleProblem[] = [];
  for (const [source, path] of Object.entries(trial.files.records) as [RecordSource, string][]) {
    const starts = offsets[source]!;
    const found: string[] = [];
    let count = 0;
    let at = 0;
    let index = 0;
    const lines = createInterface({ input: createReadStream(join(dir, path)), crlfDelay: Infinity });
    for await (const line of lines) {
      const problem = starts[index] !== at ? "does not start where the timeline file says" : (() => {
        const r = parseRecord(source, line);
        return r.kind === "invalid" ? String(r.reason) : null;
      })();
      if (problem !== null && count++ < RECORD_PROBLEMS_SHOWN) found.push(`line ${index + 1} ${problem}`);
      at += Buffer.byteLength(line) + 1;
      index++;
    }
    if (index !== starts.length - 1) found.push(`holds ${index} records, the timeline file counts ${starts.length - 1}`);
    if (found.length > 0) problems.push({ path, problem: `${found.join("; ")}${count > RECORD_PROBLEMS_SHOWN ? `; and ${count - RECORD_PROBLEMS_SHOWN} more invalid records` : ""}` });
  }
  return problems;
}

/** Everything under dir that is not a directory, bundle-relative (links included, never followed). */
async function walkNonDirectories(dir: string, sub = ""): Promise<{ path: string; link: boolean }[]> {
  const found: { path: string; link: boolean }[] = [];
  for (const entry of await readdir(join(dir, sub), { withFileTypes: true })) {
    const rel = sub ? `${sub}/${entry.name}` : entry.name;
    if (entry.isDirectory()) found.push(...(await walkNonDirectories(dir, rel)));
    else found.push({ path: rel, link: entry.isSymbolicLink() });
  }
  return found.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** One line for a problem: "path: problem" or the problem alone. */
export const formatProblem = (p: BundleProblem): string => (p.path === undefined ? p.problem : `${p.path}: ${p.problem}`);
