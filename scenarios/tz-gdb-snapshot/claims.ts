import type { Finding, RecordRef, Variant } from "../../src/evidence/schemas.js";
import type { GdbRecord } from "../../src/parse/gdb-records.js";
import type { ProbeEvent } from "../../src/parse/records.js";
import type { Claim } from "../../src/scenario/define.js";
import { compact } from "../shared/records.js";
import { judgeClaim } from "../tz-common/judge.js";
import type { TzObservation } from "../tz-common/observe.js";
import { showZone } from "../tz-common/render.js";
import { CHECKPOINT_ARG, CHECKPOINTS, LOCAL_LOC, SYMBOL_QUERIES } from "./checkpoints.js";

export const GDB_SNAPSHOT_CLAIMS = {
  T6: { id: "T6", statement: "gdb at a breakpoint in runtime.time.now reads the time-zone slice at $rsp+0x28" },
  "T6.lazy": { id: "T6.lazy", statement: "time.localLoc is empty until the program's first use of time.Local, then holds the zone the program reports" },
} satisfies Record<string, Claim>;

export const judgeGdbSnapshot = (variant: Variant, obs: TzObservation[]): Finding[] => [
  judgeClaim(GDB_SNAPSHOT_CLAIMS.T6, variant, obs, judgeSymbol),
  judgeClaim(GDB_SNAPSHOT_CLAIMS["T6.lazy"], variant, obs, judgeLazy),
];

interface LocSnapshot {
  name: string;
  zones: number;
  ref: RecordRef;
}

/** time.localLoc as gdb printed it at each checkpoint, found by the checkpoint name printed just before it. */
export function localLocSnapshots(o: TzObservation): (LocSnapshot | null)[] {
  const gdb = (o.trial.records as Record<string, unknown>).gdb as GdbRecord[] | undefined;
  const byCheckpoint = new Map<string, LocSnapshot>();
  let at: string | null = null;
  (gdb ?? []).forEach((r, index) => {
    if (r.kind !== "value") return;
    if (r.expr === CHECKPOINT_ARG) at = goString(r.value);
    if (r.expr !== LOCAL_LOC || at === null || byCheckpoint.has(at)) return;
    const loc = r.value as Record<string, unknown>;
    const zone = loc.zone as Record<string, unknown> | undefined;
    byCheckpoint.set(at, {
      name: goString(loc.name),
      zones: Number(zone?.len ?? 0),
      ref: { trial: o.trial.id, source: "gdb", index, text: `at ${at}: ${LOCAL_LOC} = ${JSON.stringify(loc).slice(0, 160)}` },
    });
  });
  return CHECKPOINTS.map((c) => byCheckpoint.get(c) ?? null);
}

/** gdb prints a Go string as its pointer and text: {address, string}. */
const goString = (v: unknown): string => (typeof v === "object" && v !== null ? String((v as Record<string, unknown>).string ?? "") : String(v ?? ""));

function symbolAnswers(o: TzObservation): { query: string; found: boolean; file: string | null; ref: RecordRef }[] {
  return o.trial.records.runtime.flatMap((r, index) => {
    if (r.kind !== "probe" || r.ev !== "symbols") return [];
    const e = r as ProbeEvent;
    // gdb lists a match as "<line>:\t<declaration>" (or "Non-debugging symbols:" then an address); none, only the header.
    const found = /^\s*(\d+:|0x[0-9a-f]+\s)/m.test(String(e.fields.answer));
    const file = /^File (\S+):/m.exec(String(e.fields.answer))?.[1] ?? null;
    return [{ query: String(e.fields.query), found, file, ref: { trial: o.trial.id, source: "runtime" as const, index, text: `info functions ${String(e.fields.query)}: ${found ? "found" : "no match"}` } }];
  });
}

function judgeSymbol(_v: Variant, o: TzObservation) {
  const answers = symbolAnswers(o);
  const seeds = answers.find((a) => a.query === SYMBOL_QUERIES[0]);
  const real = answers.find((a) => a.query === SYMBOL_QUERIES[1]);
  const evidence = answers.map((a) => a.ref);
  if (!seeds) return { verdict: "inconclusive" as const, summary: "gdb did not answer the symbol query (did it attach?)", evidence };
  const where = localLocSnapshots(o)[1];
  const summary = `runtime.time.now ${seeds.found ? "exists" : "does not exist in the binary"}${real ? `; time.now ${real.found ? `does${real.file ? `, defined in ${real.file}${real.file.endsWith(".s") ? " (assembly: it reads the clock, no zone)" : ""}` : ""}` : "does not either"}` : ""}; the zone lives in ${LOCAL_LOC}${where ? ` (${where.zones} zones, name ${JSON.stringify(where.name)} after first use)` : ""}`;
  return { verdict: seeds.found ? ("inconclusive" as const) : ("refuted" as const), summary, evidence: compact([...evidence, where?.ref]) };
}

function judgeLazy(_v: Variant, o: TzObservation) {
  const [before, after] = localLocSnapshots(o);
  const evidence = compact([before?.ref, after?.ref, o.refs.local]);
  if (!before || !after) return { verdict: "inconclusive" as const, summary: `gdb printed ${LOCAL_LOC} at ${[before, after].filter(Boolean).length} of 2 checkpoints (attach too slow for -hold?)`, evidence };
  const empty = before.name === "" && before.zones === 0;
  const reported = o.local?.name ?? null;
  // Go names the Location "Local" when it came from /etc/localtime; gdb then reads the same word.
  const same = after.name === reported;
  const summary = `before the first use ${LOCAL_LOC} had name ${JSON.stringify(before.name)} and ${before.zones} zones; after it ${JSON.stringify(after.name)} and ${after.zones} zones; the program reported Local=${showZone(o.local)}`;
  return { verdict: empty && same ? ("confirmed" as const) : ("refuted" as const), summary, evidence };
}
