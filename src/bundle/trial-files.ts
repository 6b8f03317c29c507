import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import { SOURCES } from "../evidence/facets.js";
import { RECORD_SCHEMAS, TrialHeader, variantKey, type TrialEvidence } from "../evidence/schemas.js";
import { columnsOf } from "../evidence/timeline-columns.js";
import type { TrialEntry } from "./evidence-file.js";
import { encodeTimeline, type RecordOffsets } from "./timeline-file.js";

// The writer's half of a version 3 trial: its records, one JSON line each, in
// evidence/<variant>/<trial>/<source>.ndjson, and its timeline columns in timeline.bin.
// Written in chunks of about a megabyte, never as one string, each record validated first.

const EVIDENCE_DIR = "evidence";
const TIMELINE_FILE = "timeline.bin";

const CHUNK = 1 << 20;

/** How the writer makes directories and turns a failed write into its fault naming the file. */
export interface TrialFileIo {
  mkdir: (path: string) => Promise<void>;
  fault: (path: string) => (err: unknown) => never;
}

/** Writes one trial's files under the bundle `dir`; returns its entry for evidence.json. */
export async function writeTrialFiles(dir: string, trial: TrialEvidence, io: TrialFileIo): Promise<TrialEntry> {
  // The id becomes a path component: nothing that could leave evidence/<variant>/.
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(trial.id)) throw new Error(`trial id ${JSON.stringify(trial.id)} cannot name a directory`);
  const rel = `${EVIDENCE_DIR}/${variantKey(trial.variant)}/${trial.id}`;
  await io.mkdir(join(dir, rel));
  const lists = trial.records as Record<string, unknown[] | undefined>;
  const records: Record<string, string> = {};
  const offsets: RecordOffsets = {};
  for (const source of SOURCES) {
    const list = lists[source];
    if (list === undefined) continue;
    const schema = RECORD_SCHEMAS[source];
    records[source] = `${rel}/${source}.ndjson`;
    offsets[source] = await writeChunked(join(dir, records[source]), list.length, (i) => `${JSON.stringify(schema.parse(list[i]))}\n`).catch(io.fault(join(dir, records[source])));
  }
  const timeline = `${rel}/${TIMELINE_FILE}`;
  await writeParts(join(dir, timeline), encodeTimeline(columnsOf(trial), offsets)).catch(io.fault(join(dir, timeline)));
  return { ...TrialHeader.parse(trial), files: { records: records as TrialEntry["files"]["records"], timeline } };
}

/** Writes `count` lines made by `lineOf`; returns where each starts, then the file's size. */
async function writeChunked(path: string, count: number, lineOf: (i: number) => string): Promise<Float64Array> {
  const offsets = new Float64Array(count + 1);
  const file = await open(path, "w");
  try {
    let chunk = "";
    let at = 0;
    for (let i = 0; i < count; i++) {
      const line = lineOf(i);
      offsets[i] = at;
      at += Buffer.byteLength(line);
      chunk += line;
      if (chunk.length >= CHUNK) {
        await file.writeFile(chunk);
        chunk = "";
      }
    }
    offsets[count] = at;
    if (chunk !== "") await file.writeFile(chunk);
    return offsets;
  } catch (err) {
    await file.close().catch(() => {});
    await rm(path, { force: true });
    throw err;
  } finally {
    await file.close().catch(() => {});
  }
}

async function writeParts(path: string, parts: Buffer[]): Promise<void> {
  const file = await open(path, "w");
  try {
    for (const part of parts) if (part.length > 0) await file.writeFile(part);
  } catch (err) {
    await file.close().catch(() => {});
    await rm(path, { force: true });
    throw err;
  } finally {
    await file.close().catch(() => {});
  }
}
