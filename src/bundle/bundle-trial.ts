import { closeSync, constants, openSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import { HarnessError } from "../errors.js";
import { SOURCES, type AnyRecord } from "../evidence/facets.js";
import { RECORD_SCHEMAS, type RecordSource, type TimelineEntry, type TrialEvidence, type TrialHeader } from "../evidence/schemas.js";
import { columnsOf, type TimelineColumns } from "../evidence/timeline-columns.js";
import type { TrialEntry } from "./evidence-file.js";
import type { DecodedTimeline } from "./timeline-file.js";

/**
 * A trial as a bundle holds it: its header at once, its timeline as columns, and its records
 * one at a time. A version 3 bundle reads and validates a record only when it is asked for;
 * one that fails its schema comes back as an `invalid` record, never as a throw.
 */
export interface BundleTrial extends TrialHeader {
  columns(): TimelineColumns;
  /** Record `index` of `source`; undefined when there is no such record. */
  record(source: RecordSource, index: number): AnyRecord | undefined;
  /** The whole trial, every record validated (reports, traces): BAD_BUNDLE on the first that fails. */
  evidence(): TrialEvidence;
}

/** What a record that cannot be read or fails its schema shows as. */
const invalidRecord = (reason: string, line: string): AnyRecord => ({ kind: "invalid", reason, line });

const headerOf = (t: TrialHeader): TrialHeader => ({ id: t.id, variant: t.variant, request: t.request, raw: t.raw, originUs: t.originUs, origin: t.origin });

/** A trial already in memory (as `run` made it, a version 1/2 bundle, or one rebuilt from raw/). */
export function trialFromEvidence(trial: TrialEvidence): BundleTrial {
  let columns: TimelineColumns | null = null;
  const lists = trial.records as Record<string, AnyRecord[] | undefined>;
  return {
    ...headerOf(trial),
    columns: () => (columns ??= columnsOf(trial)),
    record: (source, index) => lists[source]?.[index],
    evidence: () => trial,
  };
}

// A record over this size is refused rather than read: no capture line comes near it.
const MAX_RECORD_BYTES = 16 << 20;

/** A version 3 trial: `timeline` decoded (and checked) at open, records read from `dir` on demand. */
export function storedTrial(dir: string, entry: TrialEntry, timeline: DecodedTimeline): BundleTrial {
  const cache = new Map<string, AnyRecord>();
  const pathOf = (source: RecordSource): string => join(dir, entry.files.records[source]!);
  const lineOf = (source: RecordSource, index: number): { line: string } | { error: string } => {
    const offsets = timeline.offsets[source]!;
    const start = offsets[index]!;
    const bytes = offsets[index + 1]! - start;
    if (bytes > MAX_RECORD_BYTES) return { error: `the record is ${bytes} bytes (over ${MAX_RECORD_BYTES})` };
    let fd: number | null = null;
    try {
      // O_NOFOLLOW: the file was checked as a regular file at open and is never read through a link.
      fd = openSync(pathOf(source), constants.O_RDONLY | constants.O_NOFOLLOW);
      const buf = Buffer.alloc(bytes);
      const got = readSync(fd, buf, 0, bytes, start);
      return { line: buf.toString("utf8", 0, got).replace(/\n$/, "") };
    } catch (err) {
      return { error: `cannot read ${entry.files.records[source]}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
    } finally {
      if (fd !== null) closeSync(fd);
    }
  };
  return {
    ...headerOf(entry),
    columns: () => timeline.columns,
    record(source, index) {
      const offsets = timeline.offsets[source];
      if (offsets === undefined || !Number.isInteger(index) || index < 0 || index >= offsets.length - 1) return undefined;
      const key = `${source}#${index}`;
      let r = cache.get(key);
      if (r === undefined) {
        const read = lineOf(source, index);
        r = "error" in read ? invalidRecord(read.error, "") : parseRecord(source, read.line);
        cache.set(key, r);
      }
      return r;
    },
    evidence() {
      const records: Record<string, unknown[]> = {};
      for (const source of SOURCES) {
        const offsets = timeline.offsets[source];
        if (offsets === undefined) continue;
        const rel = entry.files.records[source]!;
        const text = readFileSync(pathOf(source));
        const list: unknown[] = [];
        for (let i = 0; i + 1 < offsets.length; i++) {
          const line = text.toString("utf8", offsets[i], offsets[i + 1]).replace(/\n$/, "");
          const r = parseRecord(source, line);
          if (r.kind === "invalid") throw new HarnessError("BAD_BUNDLE", `${join(dir, rel)}: record ${i} (line ${i + 1}) ${String(r.reason)}`);
          list.push(r);
        }
        records[source] = list;
      }
      const c = timeline.columns;
      const tl: TimelineEntry[] = [];
      for (let i = 0; i < c.n; i++) tl.push({ atUs: c.atUs[i]!, source: SOURCES[c.source[i]!]!, index: c.record[i]!, pid: c.pid[i]! < 0 ? null : c.pid[i]!, text: c.text(i) });
      return { ...headerOf(entry), records: records as TrialEvidence["records"], timeline: tl };
    },
  };
}

/** One line of a record file, parsed and validated against its source's schema. */
export function parseRecord(source: RecordSource, line: string): AnyRecord {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return invalidRecord("is not valid JSON", line);
  }
  const parsed = RECORD_SCHEMAS[source].safeParse(json);
  if (!parsed.success) return invalidRecord(`does not match the ${source} record schema: ${parsed.error.issues[0]?.path.join(".") || "(root)"}: ${parsed.error.issues[0]?.message}`, line);
  return parsed.data as AnyRecord;
}
