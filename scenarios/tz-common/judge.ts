import type { Finding, RecordRef, Variant, Verdict } from "../../src/evidence/schemas.js";
import type { Claim } from "../../src/scenario/define.js";
import { compact } from "../shared/records.js";
import { accessRef, type TzObservation } from "./observe.js";
import type { FileAccess } from "../../src/evidence/file-access.js";

// What every tz judge does the same way: a trial whose probe never started says nothing
// about time zones (it is reported as what it is, with the loader's words), and a finding
// cites the probe's reports and the strace records it rests on.

export type Judge = (variant: Variant, o: TzObservation) => { verdict: Verdict; summary: string; evidence: RecordRef[]; details?: Record<string, unknown> };

/** One finding per claim per variant, from the variant's trials (the first that ran decides; the others must agree). */
export function judgeClaim(claim: Claim, variant: Variant, observations: TzObservation[], judge: Judge): Finding {
  const base = { claim: claim.id, statement: claim.statement, variant };
  const failed = observations.filter((o) => !o.started);
  if (observations.length === 0) return { ...base, verdict: "inconclusive", summary: "no trial ran", evidence: [] };
  if (failed.length === observations.length) {
    const o = failed[0]!;
    return {
      ...base,
      verdict: "inconclusive",
      summary: `the ${o.userTarget ? "program" : "probe"} could not start (${o.failure ?? "no output"}): this variant says nothing about the claim; fix the image`,
      evidence: compact([o.refs.exit, ...startFailureRefs(o)]),
      details: { notStarted: true, failure: o.failure },
    };
  }
  const results = observations.filter((o) => o.started).map((o) => judge(variant, o));
  const verdicts = new Set(results.map((r) => r.verdict));
  const first = results[0]!;
  if (verdicts.size > 1) return { ...base, verdict: "inconclusive", summary: `trials disagree: ${results.map((r) => `${r.verdict} (${r.summary})`).join(" / ")}`, evidence: results.flatMap((r) => r.evidence) };
  return { ...base, verdict: first.verdict, summary: first.summary, evidence: results.flatMap((r) => r.evidence), ...(first.details ? { details: first.details } : {}) };
}

/** The loader's failed opens (a shared library it could not find), when strace saw them. */
function startFailureRefs(o: TzObservation): RecordRef[] {
  const strace = o.trial.records.strace ?? [];
  return strace.flatMap((r, index) =>
    r.kind === "syscall" && r.syscall === "openat" && r.errno !== null && /\.so[."]/.test(r.args[1] ?? "")
      ? [{ trial: o.trial.id, source: "strace" as const, index, text: `openat(${r.args[1]}) ${r.errno}` }]
      : [],
  ).slice(-3);
}

export const refsOf = (o: TzObservation, accesses: FileAccess[]): RecordRef[] => accesses.map((a) => accessRef(o, a));

/** Accesses made before an instant (µs): what the program had read by the time it reported. */
export const before = (accesses: FileAccess[], tsUs: number | null): FileAccess[] => (tsUs === null ? accesses : accesses.filter((a) => a.tsUs !== null && a.tsUs <= tsUs));

/** The probe event's timestamp (µs), by the ref key observeTrial gave it. */
export function eventUs(o: TzObservation, key: string): number | null {
  const ref = o.refs[key];
  // A user's program has no reports: its refs point at gdb's records, which carry no clock.
  const r = ref?.source === "probe" ? o.trial.records.probe[ref.index] : undefined;
  return r && r.kind === "probe" ? r.tsUs : null;
}

export const hours = (s: number): string => `UTC${s < 0 ? "-" : "+"}${Math.abs(s) / 3600}`;
