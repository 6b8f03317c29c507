import type { Finding, RecordSource, TrialEvidence } from "../evidence/schemas.js";
import { errnoOf, isExit, isFailure, isSignal, kindLabel, recordOf, SOURCES, syscallOf } from "./records.js";

// The timeline of one trial as columns (typed arrays), built once when a trial is first
// shown: filters, searches and "next failure" scan numbers, never objects, and the
// timeline pane reads only the rows it draws. A million rows cost ~20 MB here.

export const FLAG = { failed: 1, signal: 2, exit: 4, cited: 8 } as const;

export interface TrialIndex {
  trial: TrialEvidence;
  n: number;
  /** µs from the trial's origin (the exec). */
  atUs: Float64Array;
  /** Index into SOURCES. */
  source: Uint8Array;
  /** The record's index in trial.records[source]. */
  record: Uint32Array;
  /** -1 when the record names no pid. */
  pid: Int32Array;
  flags: Uint8Array;
  /** Index into `kinds`. */
  kind: Uint16Array;
  kinds: string[];
  /** Index into `syscalls`; 0 is "none". */
  syscall: Uint16Array;
  syscalls: string[];
  errno: Uint16Array;
  errnos: string[];
  /** Timeline row of a (source, record index), for jumps by reference. */
  rowOf(source: RecordSource, index: number): number;
  /** The timeline's one-line rendering of row i. */
  text(i: number): string;
}

function interner(): { ids: Map<string, number>; list: string[]; id: (s: string | null) => number } {
  const ids = new Map<string, number>();
  const list: string[] = [""];
  return {
    ids,
    list,
    id: (s) => {
      if (s === null) return 0;
      let id = ids.get(s);
      if (id === undefined) {
        id = list.length;
        list.push(s);
        ids.set(s, id);
      }
      return id;
    },
  };
}

/** Builds the columns of one trial; `findings` mark the rows they cite. */
export function indexTrial(trial: TrialEvidence, findings: readonly Finding[]): TrialIndex {
  const tl = trial.timeline;
  const n = tl.length;
  const atUs = new Float64Array(n);
  const source = new Uint8Array(n);
  const record = new Uint32Array(n);
  const pid = new Int32Array(n);
  const flags = new Uint8Array(n);
  const kind = new Uint16Array(n);
  const syscall = new Uint16Array(n);
  const errno = new Uint16Array(n);
  const kinds = interner();
  const syscalls = interner();
  const errnos = interner();
  const rowBySource = SOURCES.map((s) => new Int32Array((trial.records as Record<string, unknown[] | undefined>)[s]?.length ?? 0).fill(-1));
  const cited = SOURCES.map(() => new Set<number>());
  for (const f of findings) for (const e of f.evidence) if (e.trial === trial.id) cited[SOURCES.indexOf(e.source)]?.add(e.index);

  for (let i = 0; i < n; i++) {
    const e = tl[i]!;
    const s = SOURCES.indexOf(e.source);
    atUs[i] = e.atUs;
    source[i] = s;
    record[i] = e.index;
    pid[i] = e.pid ?? -1;
    const r = recordOf(trial, e.source, e.index);
    const map = rowBySource[s];
    if (map && e.index < map.length) map[e.index] = i;
    if (!r) continue;
    kind[i] = kinds.id(kindLabel(e.source, r));
    syscall[i] = syscalls.id(syscallOf(r));
    errno[i] = errnos.id(errnoOf(r));
    let f = 0;
    if (isFailure(r)) f |= FLAG.failed;
    if (isSignal(r)) f |= FLAG.signal;
    if (isExit(r)) f |= FLAG.exit;
    if (cited[s]!.size > 0 && cited[s]!.has(e.index)) f |= FLAG.cited;
    flags[i] = f;
  }
  return {
    trial,
    n,
    atUs,
    source,
    record,
    pid,
    flags,
    kind,
    kinds: kinds.list,
    syscall,
    syscalls: syscalls.list,
    errno,
    errnos: errnos.list,
    rowOf: (src, index) => rowBySource[SOURCES.indexOf(src)]?.[index] ?? -1,
    text: (i) => tl[i]?.text ?? "",
  };
}

/** First row at or after `us` (binary search; the timeline is sorted by time). */
export function rowAtTime(ix: TrialIndex, us: number): number {
  let lo = 0;
  let hi = ix.n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ix.atUs[mid]! < us) lo = mid + 1;
    else hi = mid;
  }
  return Math.min(lo, Math.max(0, ix.n - 1));
}
