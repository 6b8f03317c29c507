import type { RecordSource } from "../evidence/schemas.js";
import { SOURCES } from "../evidence/facets.js";
import { FLAG, type TrialIndex } from "./trial-index.js";

// Filters hide rows; a search only marks them (lnav's "context around hits") unless the
// user asks it to filter too. Both work on the trial index's columns.

export interface Filter {
  sources: RecordSource[] | null;
  kinds: string[] | null;
  pids: number[] | null;
  syscalls: string[] | null;
  errnos: string[] | null;
  failedOnly: boolean;
}

export const NO_FILTER: Filter = { sources: null, kinds: null, pids: null, syscalls: null, errnos: null, failedOnly: false };

export const isFiltering = (f: Filter, searchFilter: RegExp | null = null): boolean =>
  f.sources !== null || f.kinds !== null || f.pids !== null || f.syscalls !== null || f.errnos !== null || f.failedOnly || searchFilter !== null;

const KEYS: Record<string, keyof Filter> = { src: "sources", source: "sources", obs: "sources", observer: "sources", kind: "kinds", pid: "pids", tid: "pids", sc: "syscalls", syscall: "syscalls", errno: "errnos" };

/**
 * `src=strace,kernel kind=syscall pid=12,13 sc=futex errno=EAGAIN failed`: every term narrows;
 * values of one term are alternatives. An empty text clears the filter.
 */
export function parseFilter(text: string): { filter: Filter } | { error: string } {
  const filter: Filter = { ...NO_FILTER };
  for (const term of text.trim().split(/\s+/).filter(Boolean)) {
    if (term === "failed" || term === "failed-only") {
      filter.failedOnly = true;
      continue;
    }
    const m = /^([a-z]+)=(.+)$/.exec(term);
    const key = m ? KEYS[m[1]!] : undefined;
    if (!m || !key) return { error: `unknown filter term "${term}" (use src= kind= pid= sc= errno= failed)` };
    const values = m[2]!.split(",").filter(Boolean);
    if (key === "sources") {
      const bad = values.filter((v) => !(SOURCES as readonly string[]).includes(v));
      if (bad.length) return { error: `unknown source ${bad.join(",")} (one of ${SOURCES.join(", ")})` };
      filter.sources = values as RecordSource[];
    } else if (key === "pids") {
      const pids = values.map(Number);
      if (pids.some((p) => !Number.isInteger(p))) return { error: `pid= takes numbers, got ${m[2]}` };
      filter.pids = pids;
    } else {
      (filter as unknown as Record<string, string[]>)[key] = values;
    }
  }
  return { filter };
}

/** The filter as the user would type it back. */
export function formatFilter(f: Filter): string {
  const parts: string[] = [];
  if (f.sources) parts.push(`src=${f.sources.join(",")}`);
  if (f.kinds) parts.push(`kind=${f.kinds.join(",")}`);
  if (f.pids) parts.push(`pid=${f.pids.join(",")}`);
  if (f.syscalls) parts.push(`sc=${f.syscalls.join(",")}`);
  if (f.errnos) parts.push(`errno=${f.errnos.join(",")}`);
  if (f.failedOnly) parts.push("failed");
  return parts.join(" ");
}

/** Rows that pass, in order; all rows when nothing filters (no copy). */
export function visibleRows(ix: TrialIndex, f: Filter, searchFilter: RegExp | null = null): Int32Array {
  if (!isFiltering(f, searchFilter)) {
    const all = new Int32Array(ix.n);
    for (let i = 0; i < ix.n; i++) all[i] = i;
    return all;
  }
  const src = f.sources ? new Set(f.sources.map((s) => SOURCES.indexOf(s))) : null;
  const ids = (list: string[] | null, table: string[]) => (list ? new Set(list.map((v) => table.indexOf(v)).filter((i) => i > 0)) : null);
  const kinds = ids(f.kinds, ix.kinds);
  const syscalls = ids(f.syscalls, ix.syscalls);
  const errnos = ids(f.errnos, ix.errnos);
  const pids = f.pids ? new Set(f.pids) : null;
  const out = new Int32Array(ix.n);
  let k = 0;
  for (let i = 0; i < ix.n; i++) {
    if (src && !src.has(ix.source[i]!)) continue;
    if (f.failedOnly && (ix.flags[i]! & FLAG.failed) === 0) continue;
    if (kinds && !kinds.has(ix.kind[i]!)) continue;
    if (syscalls && !syscalls.has(ix.syscall[i]!)) continue;
    if (errnos && !errnos.has(ix.errno[i]!)) continue;
    if (pids && !pids.has(ix.pid[i]!)) continue;
    if (searchFilter) {
      searchFilter.lastIndex = 0;
      if (!searchFilter.test(ix.text(i))) continue;
    }
    out[k++] = i;
  }
  return out.slice(0, k);
}

/** Smart case, as less and lnav: case-insensitive unless the pattern has a capital. */
export function compileSearch(pattern: string): RegExp | { error: string } {
  try {
    return new RegExp(pattern, /[A-Z]/.test(pattern) ? "" : "i");
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/**
 * Position (in `visible`) of the next row after `from` (or before, backwards) that
 * satisfies `test`; wraps around once; -1 when none.
 */
export function seek(visible: Int32Array, from: number, forward: boolean, test: (row: number) => boolean): number {
  const n = visible.length;
  for (let step = 1; step <= n; step++) {
    const p = (((from + (forward ? step : -step)) % n) + n) % n;
    if (test(visible[p]!)) return p;
  }
  return -1;
}
