import type { ObserverName } from "../capture/observer.js";
import { OBSERVERS } from "../capture/observers.js";
import { describeEvent } from "../parse/describe.js";
import type { TimelineEntry, TrialEvidence } from "./schemas.js";

// strace -ttt, the kernel observer (its clock mapped to CLOCK_REALTIME inside its capture)
// and the probes' CLOCK_REALTIME stamps read the same kernel clock, so merging is a sort,
// not an alignment. Records without a stamp stay out of the timeline but keep their place
// in the records arrays.
export function buildTimeline(originUs: number, records: TrialEvidence["records"] & Record<string, unknown[] | undefined>): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  for (const [name, observer] of Object.entries(OBSERVERS) as [ObserverName, NonNullable<(typeof OBSERVERS)[ObserverName]>][]) {
    (records[name] ?? []).forEach((r, index) => {
      const us = observer.timeUs(r);
      if (us !== null) entries.push({ atUs: us - originUs, source: name, index, pid: observer.pid(r), text: observer.describe(r) });
    });
  }
  for (const source of ["probe", "runtime"] as const) {
    records[source].forEach((r, index) => {
      if (r.kind !== "probe") return;
      const pid = typeof r.fields.pid === "number" && source === "runtime" ? r.fields.pid : null;
      entries.push({ atUs: r.tsUs - originUs, source, index, pid, text: describeEvent(r) });
    });
  }
  // Stable on ties: observers first (the kernel saw it), then the program's own report.
  return entries.sort((a, b) => a.atUs - b.atUs);
}
