import type { ProbeRecord, StraceRecord } from "../parse/records.js";
import { describeEvent, describeStrace } from "./describe.js";
import type { TimelineEntry } from "./schemas.js";

// strace -ttt and the probes' CLOCK_REALTIME stamps read the same kernel clock, so merging
// is a sort, not an alignment. Records without a stamp stay out of the timeline but keep
// their place in the records arrays.
export function buildTimeline(
  originUs: number,
  records: { strace: StraceRecord[]; probe: ProbeRecord[]; runtime: ProbeRecord[] },
): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  records.strace.forEach((r, index) => {
    if (r.tsUs !== null) entries.push({ atUs: r.tsUs - originUs, source: "strace", index, pid: r.pid, text: describeStrace(r) });
  });
  for (const source of ["probe", "runtime"] as const) {
    records[source].forEach((r, index) => {
      if (r.kind !== "probe") return;
      const pid = typeof r.fields.pid === "number" && source === "runtime" ? r.fields.pid : null;
      entries.push({ atUs: r.tsUs - originUs, source, index, pid, text: describeEvent(r) });
    });
  }
  // Stable on ties: strace first (the kernel saw it), then the program's own report.
  return entries.sort((a, b) => a.atUs - b.atUs);
}
