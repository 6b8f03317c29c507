import { facetFlags, kindLabel, errnoOf, SOURCES, syscallOf, type AnyRecord } from "./facets.js";
import type { TrialEvidence } from "./schemas.js";

// A trial's timeline as columns (typed arrays), one row per timed record: what a replay
// draws, filters and searches without touching a record. A million rows are ~30 MB of
// numbers plus their one-line texts.

export interface TimelineColumns {
  n: number;
  /** µs from the trial's origin (the exec); rows are in time order. */
  atUs: Float64Array;
  /** Index into SOURCES. */
  source: Uint8Array;
  /** The record's index among its source's records. */
  record: Uint32Array;
  /** -1 when the record names no pid. */
  pid: Int32Array;
  /** FACET bits. */
  flags: Uint8Array;
  /** Index into `kinds`; strings tables start with "" (none). */
  kind: Uint16Array;
  kinds: string[];
  syscall: Uint16Array;
  syscalls: string[];
  errno: Uint16Array;
  errnos: string[];
  /** How many records each source has, in SOURCES order (untimed records have no row). */
  counts: number[];
  /** The row's one-line rendering. */
  text(i: number): string;
}

/** Strings to small ids; id 0 is "" (none). */
function interner(): { list: string[]; id: (s: string | null) => number } {
  const list = [""];
  const ids = new Map([["", 0]]);
  return {
    list,
    id: (s) => {
      if (s === null) return 0;
      let id = ids.get(s);
      if (id === undefined) {
        // A Uint16 column holds 65 535 distinct names; more (never seen) share "none".
        if (list.length > 0xffff) return 0;
        id = list.length;
        list.push(s);
        ids.set(s, id);
      }
      return id;
    },
  };
}

/** The columns of a trial held whole in memory (as `run` made it, or a version 1/2 bundle). */
export function columnsOf(trial: TrialEvidence): TimelineColumns {
  const tl = trial.timeline;
  const n = tl.length;
  const c = {
    atUs: new Float64Array(n),
    source: new Uint8Array(n),
    record: new Uint32Array(n),
    pid: new Int32Array(n),
    flags: new Uint8Array(n),
    kind: new Uint16Array(n),
    syscall: new Uint16Array(n),
    errno: new Uint16Array(n),
  };
  const kinds = interner();
  const syscalls = interner();
  const errnos = interner();
  const lists = SOURCES.map((s) => (trial.records as Record<string, AnyRecord[] | undefined>)[s] ?? []);
  for (let i = 0; i < n; i++) {
    const e = tl[i]!;
    const s = SOURCES.indexOf(e.source);
    c.atUs[i] = e.atUs;
    c.source[i] = s;
    c.record[i] = e.index;
    c.pid[i] = e.pid ?? -1;
    const r = lists[s]?.[e.index];
    if (!r) continue;
    c.kind[i] = kinds.id(kindLabel(e.source, r));
    c.syscall[i] = syscalls.id(syscallOf(r));
    c.errno[i] = errnos.id(errnoOf(r));
    c.flags[i] = facetFlags(r);
  }
  return { n, ...c, kinds: kinds.list, syscalls: syscalls.list, errnos: errnos.list, counts: lists.map((l) => l.length), text: (i) => tl[i]?.text ?? "" };
}
