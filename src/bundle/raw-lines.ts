import type { RecordSource, TrialEvidence } from "../evidence/schemas.js";
import { createStraceParser } from "../parse/strace.js";

// A report cites records by (source, index); a bug report should show the lines the
// observer wrote, not our rendering of them. Kernel records keep their line; probe and
// runtime records are the n-th non-empty line of their file; strace records keep none, so
// the log is parsed again line by line to learn which lines made which record. Pure: the
// caller reads the files.

/** A trial's raw captures by file name (strace.log, probe.jsonl…), the ones the caller could read. */
export type RawTexts = Record<string, string>;

/** The raw lines behind one record, exactly as captured, with the file they come from. */
export interface RawLines {
  file: string;
  lines: string[];
}

const RAW_FILE: Partial<Record<RecordSource, string>> = { strace: "strace.log", probe: "probe.jsonl", runtime: "runtime.jsonl" };
/** The files a lookup needs (kernel records carry their own lines). */
export const LINE_FILES: readonly string[] = Object.values(RAW_FILE);

/**
 * Finds the raw lines of records of one trial. Returns a lookup; null for a record whose
 * lines cannot be recovered (gdb's records span several console lines without a clock, a
 * file the bundle lacks, or a log that no longer parses into the records the evidence holds).
 */
export function createRawLineLookup(trial: TrialEvidence, raw: RawTexts): (source: RecordSource, index: number) => RawLines | null {
  const cache = new Map<RecordSource, (string[] | null)[] | null>();
  const linesOf = (source: RecordSource): (string[] | null)[] | null => {
    if (cache.has(source)) return cache.get(source)!;
    let lines: (string[] | null)[] | null = null;
    if (source === "kernel") lines = (trial.records.kernel ?? []).map((r) => [r.line]);
    else if (source === "strace" && raw["strace.log"] !== undefined) {
      lines = straceRecordLines(raw["strace.log"]);
      // A different count means the log is not what the evidence was parsed from.
      if (lines.length !== (trial.records.strace ?? []).length) lines = null;
    } else if ((source === "probe" || source === "runtime") && raw[RAW_FILE[source]!] !== undefined) {
      lines = raw[RAW_FILE[source]!]!.split("\n").filter((l) => l.trim() !== "").map((l) => [l]);
      if (lines.length !== trial.records[source].length) lines = null;
    }
    cache.set(source, lines);
    return lines;
  };
  return (source, index) => {
    const lines = linesOf(source)?.[index];
    if (!lines || lines.length === 0) return null;
    const file = source === "kernel" ? kernelFileOf(trial, index) : RAW_FILE[source]!;
    return { file, lines };
  };
}

/** Kernel records come from two files; the header of each says which instance (tree or signals) it is. */
function kernelFileOf(trial: TrialEvidence, index: number): string {
  const records = trial.records.kernel ?? [];
  for (let i = index; i >= 0; i--) {
    const r = records[i]!;
    if (r.kind === "header") return r.info.role === "signals" ? "kernel-signals.trace" : "kernel.trace";
  }
  return "kernel.trace";
}

/** A tracer note printed into a half-written line (see parse/strace.ts): the line's start continues on the next line. */
const SPLICED_NOTE = /strace: Process \d+ (?:attached|detached|suspended)$/;
const LINE_PID = /^(?:\[pid\s+(\d+)\]|(\d+))\s/;

/**
 * The raw lines of each record parseStraceText makes of `text`, by record index: one line
 * for most, the `<unfinished …>` line and its `<… resumed>` line for a resumed call, and a
 * line cut by a tracer note with its continuation.
 */
export function straceRecordLines(text: string): string[][] {
  const parser = createStraceParser();
  const out: string[][] = [];
  /** Unfinished halves by pid (-1: a line without one), waiting for their resumed line or the end. */
  const halves = new Map<number, string[]>();
  /** Lines that made no record and are no unfinished half: a line a note cut, continued by the next. */
  let held: string[] = [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  for (const line of lines) {
    const records = parser.push(line);
    // A first half ends the line; "<unfinished ...>) = ?" is a whole call the process died in.
    const isHalf = line.endsWith(" <unfinished ...>");
    let usedLine = false;
    for (const r of records) {
      // A call that never resumed comes out when its pid starts another or ends: its lines
      // are its half. Without one, the line is a whole call the process died in.
      if (r.kind === "syscall" && r.unfinished && !r.resumed) {
        const half = takeHalf(halves, r.pid);
        if (half !== undefined) {
          out.push(half);
          continue;
        }
      }
      const half = r.kind === "syscall" && r.resumed ? takeHalf(halves, r.pid) : undefined;
      out.push([...held, ...(half ?? []), line]);
      held = [];
      usedLine = true;
    }
    if (!usedLine) {
      // A half may itself have been cut by a note: its lines then travel together.
      if (isHalf) {
        halves.set(linePid(held[0] ?? line), [...held, line]);
        held = [];
      } else if (records.length === 0) held.push(line);
    }
    // The note made its record; the call it cut goes on with the next line.
    if (SPLICED_NOTE.test(line)) held = [line];
  }
  // end() flushes the calls that never resumed (in the order the parser kept them), then a cut line.
  for (const r of parser.end()) {
    if (r.kind === "syscall" && r.unfinished) out.push(takeHalf(halves, r.pid) ?? []);
    else out.push(held.splice(0));
  }
  return out;
}

const linePid = (line: string): number => {
  const m = LINE_PID.exec(line);
  return m ? Number(m[1] ?? m[2]) : -1;
};

function takeHalf(halves: Map<number, string[]>, pid: number | null): string[] | undefined {
  for (const key of [pid ?? -1, -1]) {
    const half = halves.get(key);
    if (half !== undefined) {
      halves.delete(key);
      return half;
    }
  }
  return undefined;
}
