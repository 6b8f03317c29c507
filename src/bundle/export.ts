import { createHash, randomBytes } from "node:crypto";
import { readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { gzipSync } from "node:zlib";
import { HarnessError, toOutputFault } from "../errors.js";
import { ExportedManifest, type RedactionSummary } from "./export-manifest.js";
import type { RecordSource } from "../evidence/schemas.js";
import { EvidenceFile, type TrialEntry } from "./evidence-file.js";
import { EVIDENCE, MANIFEST, type BundleFile } from "./manifest.js";
import { decodeTimeline, encodeTimeline, type RecordOffsets } from "./timeline-file.js";
import { addCounts, redactText, type RedactionCounts } from "./redact.js";
import { makeReproducibleTar, type TarMember } from "./tar.js";
import { checkBundleDir, formatProblem } from "./verify.js";

export interface ExportOptions {
  /** Where the .tar.gz goes; default `<runId>.tar.gz` in the working directory. */
  out?: string;
  /** false only for `--no-redact`. */
  redact: boolean;
  /** `--strip-host`: also replace these host names and home directories. */
  stripHost?: { hosts: string[]; homes: string[] };
  allowPartial?: boolean;
}

export interface ExportResult {
  out: string;
  /** Size of the .tar.gz, and of the tar inside it. */
  bytes: number;
  tarBytes: number;
  /** manifest.json plus every file it lists. */
  members: number;
  sha256: string;
  redaction: RedactionSummary;
}

/**
 * Writes a bundle as a reproducible .tar.gz for a bug report. The bundle is verified first
 * (a partial or tampered one is refused), every captured file is redacted, and the
 * archive's own manifest lists the redacted files' sizes and sha256 plus what was redacted.
 *
 * Reproducible: members are `<runId>/manifest.json` first, then the listed files in byte
 * order of their paths, with fixed headers (see makeReproducibleTar) and the run's start as
 * mtime, so one bundle always gives the same tar bytes. The gzip layer is deterministic for
 * one Node version (no name or time in its header) but zlib's output may change between
 * Node/zlib versions; the tar inside is what is guaranteed.
 */
export async function exportBundle(dir: string, options: ExportOptions): Promise<ExportResult> {
  const st = await stat(dir).catch(() => null);
  if (st === null || !st.isDirectory()) {
    throw new HarnessError("BAD_INPUT", `${dir}: ${st === null ? "no such bundle directory" : "not a directory; export reads a bundle directory (forensics verify checks an archive)"}`);
  }
  const check = await checkBundleDir(dir, { allowPartial: options.allowPartial });
  if (check.problems.length > 0 || check.manifest === null) {
    const more = check.problems.length > 1 ? ` (and ${check.problems.length - 1} more problem${check.problems.length > 2 ? "s" : ""})` : "";
    throw new HarnessError("BAD_BUNDLE", `${dir}: refusing to export: ${formatProblem(check.problems[0]!)}${more}; run forensics verify ${dir} for the full list`);
  }
  const source = check.manifest;

  const counts: RedactionCounts = {};
  const redact = (text: string, format: "text" | "json"): string => {
    if (!options.redact) return text;
    const r = redactText(text, { format, hosts: options.stripHost?.hosts, homes: options.stripHost?.homes });
    addCounts(counts, r.counts);
    return r.text;
  };

  // latin1 maps bytes to chars one to one, so bytes no rule touches (UTF-8 included) come
  // back unchanged. Timeline files are binary: they are rebuilt below, not redacted as text.
  const trials = source.schemaVersion >= 3 ? EvidenceFile.parse(JSON.parse(await readFile(join(dir, EVIDENCE), "utf8"))).trials : [];
  const timelines = new Set(trials.map((t) => t.files.timeline));
  const files: TarMember[] = [];
  for (const file of source.files) {
    const content = await readFile(join(dir, file.path));
    const format = /\.(jsonl?|ndjson)$/.test(file.path) ? "json" : "text";
    files.push({ path: file.path, data: timelines.has(file.path) ? content : Buffer.from(redact(content.toString("latin1"), format), "latin1") });
  }
  if (options.redact) for (const trial of trials) rebuildTimeline(trial, files, source.files, (text) => redact(text, "json"));

  // The manifest's own strings (params, reason, host facts) go through the same rules.
  const { files: _listed, redaction: before, ...header } = source;
  const headerRedacted = JSON.parse(redact(JSON.stringify(header), "json")) as typeof header;
  const redaction: RedactionSummary = {
    applied: options.redact || (before?.applied ?? false),
    stripHost: (options.redact && options.stripHost !== undefined) || (before?.stripHost ?? false),
    counts: addCounts({ ...before?.counts }, counts),
  };
  const manifest = ExportedManifest.parse({
    ...headerRedacted,
    files: files.map((f) => ({ path: f.path, bytes: f.data.length, sha256: createHash("sha256").update(f.data).digest("hex") })),
    redaction,
  });

  const top = /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(source.runId) ? source.runId : "bundle";
  const members: TarMember[] = [
    { path: `${top}/${MANIFEST}`, data: Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`) },
    ...files.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path))).map((f) => ({ path: `${top}/${f.path}`, data: f.data })),
  ];
  const started = new Date(source.startedAt);
  const tar = makeReproducibleTar(members, Number.isNaN(started.getTime()) ? new Date(0) : started);
  const gz = gzipSync(tar, { level: 9 });

  const out = resolve(options.out ?? `${top}.tar.gz`);
  // Inside the bundle it would become a file the manifest does not list.
  if (out.startsWith(resolve(dir) + sep)) throw new HarnessError("USAGE", `${out}: write the archive outside the bundle it archives`);
  // Write-then-rename in the target's directory: a reader never sees half an archive.
  const tmp = join(dirname(out), `.${basename(out)}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    await writeFile(tmp, gz, { flag: "wx", mode: 0o644 });
    await rename(tmp, out);
  } catch (err) {
    await rm(tmp, { force: true });
    const fault = toOutputFault(err, { path: out, fix: "pick another -o" });
    if (fault) throw fault;
    // ENOENT (a missing directory, or /proc) is the user's path too, never a bug of ours.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined) throw err;
    throw new HarnessError("OUTPUT_FAILED", `cannot write ${out}: ${code === "ENOENT" ? "its directory does not exist or takes no files" : code} (${code}): pick another -o`, { cause: err });
  }
  return { out, bytes: gz.length, tarBytes: tar.length, members: members.length, sha256: createHash("sha256").update(gz).digest("hex"), redaction };
}

/**
 * A redacted trial's timeline file, made again: its texts (our renderings of the records,
 * arguments included) go through the same rules as the records, and its record offsets
 * follow the redacted record files, whose lines changed length.
 */
function rebuildTimeline(trial: TrialEntry, files: TarMember[], listed: readonly BundleFile[], redactJson: (text: string) => string): void {
  const member = (path: string): TarMember => files.find((f) => f.path === path)!;
  const records = Object.entries(trial.files.records) as [RecordSource, string][];
  const bytes = (path: string): number => listed.find((f) => f.path === path)!.bytes;
  const timeline = member(trial.files.timeline);
  const { columns, offsets } = decodeTimeline(timeline.data, Object.fromEntries(records.map(([s, path]) => [s, bytes(path)])));
  const redactedOffsets: RecordOffsets = {};
  for (const [s, path] of records) {
    const data = member(path).data;
    const starts = [0];
    for (let at = data.indexOf(0x0a); at >= 0; at = data.indexOf(0x0a, at + 1)) starts.push(at + 1);
    // Redaction re-encodes JSON strings whole (newlines stay escaped), so lines map one to one.
    if (starts.length !== offsets[s]!.length || starts.at(-1) !== data.length) throw new Error(`redacting ${path} changed its number of lines`);
    redactedOffsets[s] = Float64Array.from(starts);
  }
  // One JSON string per line, so a text with a newline stays one text and each is redacted as a value.
  const strings = [...Array.from({ length: columns.n }, (_, i) => columns.text(i)), ...columns.kinds, ...columns.syscalls, ...columns.errnos];
  const redacted = redactJson(strings.map((t) => JSON.stringify(t)).join("\n")).split("\n").map((l) => JSON.parse(l) as string);
  if (redacted.length !== strings.length) throw new Error(`redacting the texts of ${trial.files.timeline} changed their number`);
  const at = (from: number, count: number) => redacted.slice(from, from + count);
  const n = columns.n;
  const kinds = at(n, columns.kinds.length);
  const syscalls = at(n + kinds.length, columns.syscalls.length);
  const errnos = at(n + kinds.length + syscalls.length, columns.errnos.length);
  timeline.data = Buffer.concat(encodeTimeline({ ...columns, kinds, syscalls, errnos, text: (i) => redacted[i]! }, redactedOffsets));
}
