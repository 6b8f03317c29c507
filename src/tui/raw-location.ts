import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import { OBSERVERS } from "../capture/observers.js";
import type { TrialHeader } from "../evidence/schemas.js";
import type { AnyRecord } from "../evidence/facets.js";
import type { RecordSource } from "../evidence/schemas.js";
import { RAW_FILES } from "../evidence/load.js";

// Where a record was captured: the raw line(s) exactly as the observer wrote them, with
// their bundle-relative file and byte offset. Records do not carry offsets, so they are
// found again in the raw files: probe/runtime records are the n-th non-empty line; strace
// records start with "<pid> <sec.usec> " (and a resumed call has a second line, its
// `<... x resumed>`); records that keep their line (kernel) are searched for verbatim.

export interface RawLine {
  /** Bundle-relative path. */
  file: string;
  /** Byte offset of the line's first byte. */
  offset: number;
  /** The bytes as captured, decoded as UTF-8 (escaping is the view's job). */
  text: string;
}

export interface RawLocator {
  locate(trial: TrialHeader, source: RecordSource, index: number, record: AnyRecord): RawLine[];
}

const NL = 0x0a;

export function makeRawLocator(bundleDir: string): RawLocator {
  const files = new Map<string, Buffer | null>();
  const lineStarts = new Map<string, Float64Array>();
  const cache = new Map<string, RawLine[]>();
  const load = (rel: string): Buffer | null => {
    if (!files.has(rel)) {
      let buf: Buffer | null = null;
      try {
        buf = readFileSync(join(bundleDir, rel));
      } catch {
        buf = null;
      }
      files.set(rel, buf);
    }
    return files.get(rel)!;
  };
  const lineAt = (rel: string, buf: Buffer, offset: number): RawLine => {
    const end = buf.indexOf(NL, offset);
    return { file: rel, offset, text: buf.subarray(offset, end < 0 ? buf.length : end).toString("utf8") };
  };
  const find = (buf: Buffer, needle: string, from = 0): number => {
    if (from === 0 && buf.subarray(0, Buffer.byteLength(needle)).toString("utf8") === needle) return 0;
    const at = buf.indexOf(`\n${needle}`, from === 0 ? 0 : from - 1);
    return at < 0 ? -1 : at + 1;
  };
  const rawFilesOf = (trial: TrialHeader, source: RecordSource): string[] => {
    const names: string[] = source === "probe" || source === "runtime" ? [RAW_FILES[source]] : [...(OBSERVERS[source as "strace"]?.rawFiles ?? [])];
    const fromTrial = names.map((n) => trial.raw[n]).filter((p): p is string => p !== undefined);
    // An observer this build does not know: any raw file named after it.
    if (fromTrial.length === 0) return Object.entries(trial.raw).filter(([n]) => n.startsWith(source)).map(([, p]) => p);
    return fromTrial;
  };

  return {
    locate(trial, source, index, record) {
      const key = `${trial.id}:${source}:${index}`;
      const hit = cache.get(key);
      if (hit) return hit;
      const out: RawLine[] = [];
      for (const rel of rawFilesOf(trial, source)) {
        // A big strace log is not read whole for one record: its lines are in time order,
        // so a binary search over positional reads finds the window holding the record.
        if (source === "strace" && typeof record.tsUs === "number" && typeof record.pid === "number" && !files.has(rel)) {
          const found = windowSearch(join(bundleDir, rel), rel, record as unknown as StraceLike);
          if (found !== null) {
            out.push(...found);
            if (out.length > 0) break;
          }
        }
        const buf = load(rel);
        if (!buf) continue;
        if (source === "probe" || source === "runtime") {
          let starts = lineStarts.get(rel);
          if (!starts) {
            const list: number[] = [];
            for (let at = 0; at < buf.length; ) {
              const end = buf.indexOf(NL, at);
              const stop = end < 0 ? buf.length : end;
              if (buf.subarray(at, stop).toString("utf8").trim() !== "") list.push(at);
              at = stop + 1;
            }
            starts = Float64Array.from(list);
            lineStarts.set(rel, starts);
          }
          if (index < starts.length) out.push(lineAt(rel, buf, starts[index]!));
        } else if (typeof record.line === "string" && record.line !== "") {
          const at = find(buf, record.line);
          if (at >= 0) out.push(lineAt(rel, buf, at));
        } else if (typeof record.tsUs === "number" && typeof record.pid === "number") {
          out.push(...straceLines(rel, buf, 0, record as unknown as StraceLike));
        }
        if (out.length > 0) break;
      }
      cache.set(key, out);
      return out;
    },
  };
}

interface StraceLike {
  tsUs: number;
  pid: number;
  resumed?: unknown;
  syscall?: unknown;
}

/** The record's line(s) in `buf`, which starts at byte `base` of the file. */
function straceLines(rel: string, buf: Buffer, base: number, record: StraceLike): RawLine[] {
  const lineAt = (offset: number): RawLine => {
    const end = buf.indexOf(NL, offset);
    return { file: rel, offset: base + offset, text: buf.subarray(offset, end < 0 ? buf.length : end).toString("utf8") };
  };
  // strace pads the pid column ("5333  1796028364.535468 …"): find the stamp, then check the pid before it.
  const us = record.tsUs;
  const stamp = ` ${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, "0")} `;
  let at = -1;
  for (let from = 0; ; ) {
    const hit = buf.indexOf(stamp, from);
    if (hit < 0) break;
    const start = buf.lastIndexOf(NL, hit) + 1;
    if (buf.subarray(start, hit).toString("latin1").trim() === String(record.pid)) {
      at = start;
      break;
    }
    from = hit + 1;
  }
  if (at < 0) return [];
  const out = [lineAt(at)];
  if (record.resumed === true && typeof record.syscall === "string") {
    // The second half: the next line of this pid saying `<... syscall resumed>`.
    const needle = `<... ${record.syscall} resumed>`;
    for (let from = at + 1; ; ) {
      const hit = buf.indexOf(needle, from);
      if (hit < 0) break;
      const start = buf.lastIndexOf(NL, hit) + 1;
      if (buf.subarray(start, hit).toString("latin1").trim().split(/\s+/)[0] === String(record.pid)) {
        out.push(lineAt(start));
        break;
      }
      from = hit + 1;
    }
  }
  return out;
}

const BIG = 8 << 20;
const WINDOW = 256 << 10;

/** Binary search by stamp over positional reads; null when the file is small or the window misses (read it whole then). */
export function windowSearch(path: string, rel: string, record: StraceLike): RawLine[] | null {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    if (size < BIG) return null;
    const probe = Buffer.alloc(1024);
    const stampAt = (pos: number): number | null => {
      const n = readSync(fd, probe, 0, probe.length, pos);
      const nl = probe.subarray(0, n).indexOf(NL);
      if (nl < 0) return null;
      const m = /^\s*\d+\s+(\d+)\.(\d{6}) /.exec(probe.subarray(nl + 1, n).toString("latin1"));
      return m ? Number(m[1]) * 1e6 + Number(m[2]) : null;
    };
    let lo = 0;
    let hi = size;
    while (hi - lo > WINDOW / 4) {
      const mid = Math.floor((lo + hi) / 2);
      const us = stampAt(mid);
      if (us === null) break;
      if (us < record.tsUs) lo = mid;
      else hi = mid;
    }
    const from = Math.max(0, lo - WINDOW);
    const to = Math.min(size, hi + WINDOW);
    const buf = Buffer.alloc(to - from);
    readSync(fd, buf, 0, buf.length, from);
    // Start at a line boundary so offsets and the pid check see whole lines.
    const first = from === 0 ? 0 : buf.indexOf(NL) + 1;
    const lines = straceLines(rel, buf.subarray(first), from + first, record);
    // A resumed call whose second half lies past the window: read the file whole instead.
    return lines.length > (record.resumed === true ? 1 : 0) ? lines : null;
  } finally {
    closeSync(fd);
  }
}
