import type { BundleTrial } from "../bundle/bundle-trial.js";
import { FACET, SOURCES } from "../evidence/facets.js";
import type { Finding, RecordSource } from "../evidence/schemas.js";
import type { TimelineColumns } from "../evidence/timeline-columns.js";

// The timeline of one trial as columns (typed arrays), taken when a trial is first shown:
// filters, searches and "next failure" scan numbers, never objects, and the timeline pane
// reads only the rows it draws. A version 3 bundle stores these columns ready to use; a
// million rows cost ~30 MB here plus their texts.

export const FLAG = { ...FACET, cited: 8 } as const;

export interface TrialIndex extends TimelineColumns {
  trial: BundleTrial;
  /** Timeline row of a (source, record index), for jumps by reference. */
  rowOf(source: RecordSource, index: number): number;
}

/** The columns of one trial, with the rows `findings` cite flagged. */
export function indexTrial(trial: BundleTrial, findings: readonly Finding[]): TrialIndex {
  const c = trial.columns();
  const n = c.n;
  const rowBySource = SOURCES.map((_, s) => new Int32Array(c.counts[s] ?? 0).fill(-1));
  for (let i = 0; i < n; i++) {
    const map = rowBySource[c.source[i]!];
    if (map && c.record[i]! < map.length) map[c.record[i]!] = i;
  }
  // The stored flags stay as read; cited rows are this session's own.
  const flags = Uint8Array.from(c.flags);
  for (const f of findings) {
    for (const e of f.evidence) {
      if (e.trial !== trial.id) continue;
      const row = rowBySource[SOURCES.indexOf(e.source)]?.[e.index] ?? -1;
      if (row >= 0) flags[row] = flags[row]! | FLAG.cited;
    }
  }
  return {
    ...c,
    flags,
    trial,
    rowOf: (src, index) => rowBySource[SOURCES.indexOf(src)]?.[index] ?? -1,
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
