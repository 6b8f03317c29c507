import { constants } from "node:os";
import type { Finding, RecordRef, Variant, Verdict } from "../../src/evidence/schemas.js";
import { formatUs } from "../../src/format.js";
import type { Claim } from "../../src/scenario/define.js";
import { compact } from "../shared/records.js";
import type { InitPreparation, RaceTrial } from "./analysis.js";

// Verdicts on S1, S2, S7 (docs/claims.md) for one variant, computed from its race trials only.
// Nothing here knows what the answer "should" be; a variant whose trials missed a phase
// gets `inconclusive` with the offset that would hit it.

export const SIGNAL_CLAIMS = {
  S1: { id: "S1", statement: "A process that is PID 1 ignores SIGTERM unless it has installed a handler for it" },
  S2: { id: "S2", statement: "Between a Go program's start and signal.Notify there is a window in which a SIGTERM is lost" },
  S7: {
    id: "S7",
    statement: "A Go program that gets SIGTERM before signal.Notify does not die by the signal: the runtime's re-raise is dropped and it exits with a status of its own",
  },
} satisfies Record<string, Claim>;

export function judgeSignalClaims(variant: Variant, trials: RaceTrial[]): Finding[] {
  return [judgeS1(variant, trials), judgeS2(variant, trials), judgeS7(variant, trials)];
}

const inPhase = (trials: RaceTrial[], phase: RaceTrial["phase"]) => trials.filter((t) => t.phase === phase);

function judgeS1(variant: Variant, trials: RaceTrial[]): Finding {
  const base = { claim: "S1", statement: SIGNAL_CLAIMS.S1.statement, variant };
  return variant.init === "none" ? judgeS1Probe(base, trials) : judgeS1Init(base, variant, trials);
}

type FindingBase = Pick<Finding, "claim" | "statement" | "variant">;

/** The probe is PID 1: it has no handler only until its Go runtime installs one. */
function judgeS1Probe(base: FindingBase, trials: RaceTrial[]): Finding {
  const early = inPhase(trials, "before-handler");
  if (early.length === 0) {
    return { ...base, verdict: "inconclusive", summary: `no trial sent SIGTERM before Go's handler was installed (${aimHint(trials)})`, evidence: [] };
  }
  const lost = early.filter((t) => t.outcome === "lost");
  const evidence = early.flatMap(s1Refs);
  const summary = `before its Go runtime installed a handler, PID 1 (the probe) ${lost.length ? `dropped SIGTERM in ${lost.length} of ${early.length} trials (sent ${range(lost.map((t) => t.sentUs))} µs after exec; it ran on until the harness killed it)` : "never dropped SIGTERM"}`;
  if (lost.length === early.length) return { ...base, verdict: "confirmed", summary, evidence };
  return { ...base, verdict: lost.length === 0 ? "refuted" : "inconclusive", summary: `${summary}; otherwise: ${describeEnds(early.filter((t) => t.outcome !== "lost"))}`, evidence };
}

/**
 * An init is PID 1. Whether it has a SIGTERM handler only strace can tell (dumb-init
 * installs a do-nothing one, tini none), so without strace a forwarded signal proves nothing.
 */
function judgeS1Init(base: FindingBase, variant: Variant, trials: RaceTrial[]): Finding {
  const lost = trials.filter((t) => t.outcome === "lost");
  const forwarded = trials.filter((t) => t.outcome !== "lost");
  const preps = trials.map((t) => t.init).filter((p): p is InitPreparation => p !== null);
  const handlers = preps.map((p) => p.handlerUs).filter((v): v is number => v !== null);
  const blocked = preps.map((p) => p.blockedUs).filter((v): v is number => v !== null);
  const evidence = trials.filter((t) => t.phase === "before-handler" || t.outcome === "lost").flatMap(s1Refs);
  const prep = preps.length === 0
    ? trials.some((t) => t.strace)
      ? `strace did not see ${variant.init} start (it was PID 1 before the gate was released), so whether it installs a handler is not in the capture`
      : `without strace it is unknown whether ${variant.init} installs a handler`
    : `strace shows ${variant.init} ${handlers.length ? `installing a SIGTERM handler ${formatUs(Math.min(...handlers))}` : "never installing a SIGTERM handler"}${blocked.length ? ` and blocking SIGTERM ${formatUs(Math.min(...blocked))} after exec` : ""}`;
  const lostPart = lost.length ? `PID 1 (${variant.init}) dropped SIGTERM sent ${range(lost.map((t) => t.sentUs))} µs after exec, before it was ready (${lost.length} trial${lost.length === 1 ? "" : "s"})` : `no trial was early enough to catch ${variant.init} unprepared`;
  // The kernel observer tells the two ways an init loses it apart: ignored (SIG_DFL) or
  // delivered to a handler of its own that never passed it on.
  const byKernel = lost.filter((t) => t.lostBy === "kernel").length;
  const byHandler = lost.filter((t) => t.lostBy === "pid1-handler").length;
  const byChild = lost.filter((t) => t.lostBy === "child-before-exec").length;
  const byFailedForward = lost.filter((t) => t.lostBy === "forward-failed").length;
  const ways = [
    byKernel ? `ignored ${byKernel}` : "",
    byHandler ? `delivered ${byHandler} to ${variant.init}'s own handler, which passed nothing on` : "",
    byChild ? `saw ${variant.init} forward ${byChild} to its child before the child exec'd the probe, into the handler it inherited` : "",
    byFailedForward ? `saw ${variant.init} take ${byFailedForward} and fail to pass ${byFailedForward === 1 ? "it" : "them"} on (its kill(2) to the child failed${killErrors(lost)})` : "",
  ].filter(Boolean);
  const kernelPart = ways.length ? `; the kernel ${ways.join(", and ")}` : "";
  const summary = `${lostPart}${kernelPart}; later ones were forwarded to the probe; ${prep}`;
  if (preps.length > 0 && handlers.length === 0 && byHandler === 0 && forwarded.length > 0) return { ...base, verdict: "refuted", summary, evidence };
  if (lost.length > 0 && (handlers.length > 0 || byHandler > 0 || forwarded.length === 0)) return { ...base, verdict: "confirmed", summary, evidence };
  return { ...base, verdict: "inconclusive", summary, evidence };
}

/** The errnos of the failed forwards, e.g. ": ESRCH" (dumb-init's kill of a process group the child has not made yet). */
function killErrors(lost: RaceTrial[]): string {
  const names = new Set(lost.map((t) => t.forwardErrno).filter((e): e is string => e !== null));
  return names.size ? `: ${[...names].join(", ")}` : "";
}

const s1Refs = (t: RaceTrial): RecordRef[] => compact([t.refs.send, t.refs.fate, t.refs.lost, t.refs.delivery, t.refs.deadlineKill, t.probeEnd?.ref ?? null, t.refs.exit]);

function judgeS2(variant: Variant, trials: RaceTrial[]): Finding {
  const p1 = inPhase(trials, "before-handler");
  const p2 = inPhase(trials, "before-notify");
  const base = { claim: "S2", statement: SIGNAL_CLAIMS.S2.statement, variant };
  const lost = [...p1, ...p2].filter((t) => t.outcome === "lost");
  const evidence = [...p1, ...p2].flatMap((t) => compact([t.refs.send, t.refs.handler, t.refs.notify, t.refs.deadlineKill, t.refs.exit]));
  const parts = [
    p1.length ? `before Go's handler (exec to ${window(trials, "handlerUs")}): ${outcomes(p1)}` : `nothing sent before Go's handler (${aimHint(trials)})`,
    p2.length ? `between the handler and Notify (to ${window(trials, "notifyUs")}): ${outcomes(p2)}` : "nothing sent between the handler and Notify",
  ];
  let verdict: Verdict;
  if (lost.length > 0) verdict = "confirmed";
  else if (p1.length > 0 && p2.length > 0) verdict = "refuted";
  else verdict = "inconclusive";
  const lead =
    verdict === "confirmed"
      ? `lost only ${lost.every((t) => t.phase === "before-handler") ? (variant.init === "none" ? "before Go's runtime installed its handler" : `before ${variant.init} was ready (sent ${range(lost.map((t) => t.sentUs))} µs after exec)`) : "in some trials"}`
      : verdict === "refuted"
        ? "no trial lost the signal"
        : "not every phase was hit";
  return { ...base, verdict, summary: `${lead}; ${parts.join("; ")}`, evidence, measurements: medianBoundaries(trials), details: { boundaries: phaseBoundaries(trials) } };
}

/** Median instants (µs after exec) of Go's handler and of Notify, with strace and without. */
function medianBoundaries(trials: RaceTrial[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const strace of [false, true]) {
    for (const field of ["handlerUs", "notifyUs"] as const) {
      const values = trials.filter((t) => t.strace === strace).map((t) => t[field]).filter((v): v is number => v !== null);
      out[`${field}${strace ? "WithStrace" : "WithoutStrace"}`] = values.length ? median(values) : null;
    }
  }
  return out;
}

export interface Spread {
  min: number;
  median: number;
  max: number;
}

export interface PhaseBoundaries {
  observers: string;
  handlerUs: Spread | null;
  notifyUs: Spread | null;
}

/** The phase boundaries as each observer set measured them: the observer effect, one row per set. */
export function phaseBoundaries(trials: RaceTrial[]): PhaseBoundaries[] {
  const sets = [...new Set(trials.map((t) => t.observers))];
  return sets.map((observers) => {
    const mine = trials.filter((t) => t.observers === observers);
    const spread = (field: "handlerUs" | "notifyUs"): Spread | null => {
      const values = mine.map((t) => t[field]).filter((v): v is number => v !== null);
      return values.length ? { min: Math.min(...values), median: median(values), max: Math.max(...values) } : null;
    };
    return { observers, handlerUs: spread("handlerUs"), notifyUs: spread("notifyUs") };
  });
}

function judgeS7(variant: Variant, trials: RaceTrial[]): Finding {
  const p2 = inPhase(trials, "before-notify");
  const base = { claim: "S7", statement: SIGNAL_CLAIMS.S7.statement, variant };
  if (p2.length === 0) {
    return { ...base, verdict: "inconclusive", summary: "no trial sent SIGTERM between Go's handler and Notify; run with --offsets inside that window", evidence: [] };
  }
  const ends = p2.map((t) => ({ t, end: probeEnd(variant, t) }));
  const evidence = p2.flatMap((t) => compact([t.refs.send, t.refs.delivery, ...t.refs.fallback, t.probeEnd?.ref ?? null, t.refs.exit]));
  const exited = ends.filter((e) => e.end.kind === "exited");
  const killed = ends.filter((e) => e.end.kind === "killed");
  const statuses = unique(p2.map((t) => (t.exitCode === null ? "?" : String(t.exitCode)))).join(", ");
  if (exited.length === p2.length) {
    const codes = unique(exited.map((e) => (e.end.kind === "exited" ? e.end.code : -1))).join(", ");
    const fallback = p2.some((t) => t.refs.fallback.length > 0) ? " after re-raising SIGTERM and resetting it to SIG_DFL (strace)" : "";
    return { ...base, verdict: "confirmed", summary: `the probe exited with status ${codes}${fallback}; the runtime reported ${statuses} (${p2.length} trials)`, evidence };
  }
  if (killed.length === p2.length) {
    return {
      ...base,
      verdict: "refuted",
      summary: `the probe was killed by ${unique(killed.map((e) => (e.end.kind === "killed" ? e.end.signal : "?"))).join(", ")} (${killed[0]!.end.how}); the runtime reported ${statuses} (${p2.length} trials)`,
      evidence,
    };
  }
  return { ...base, verdict: "inconclusive", summary: `mixed or unknown ends: ${describeEnds(p2)}`, evidence };
}

type End = { kind: "exited"; code: number; how: string } | { kind: "killed"; signal: string; how: string } | { kind: "unknown"; how: string };

/** How the probe itself ended: strace says it exactly; otherwise PID 1's status speaks for it. */
function probeEnd(variant: Variant, t: RaceTrial): End {
  if (t.probeEnd?.kind === "exited") return { kind: "exited", code: t.probeEnd.code, how: "strace" };
  if (t.probeEnd?.kind === "killed") return { kind: "killed", signal: t.probeEnd.signal, how: "strace" };
  if (t.signal) return { kind: "killed", signal: t.signal, how: "PID 1's wait status" };
  if (t.exitCode === null) return { kind: "unknown", how: "no exit status" };
  // An init reports a child killed by signal N as exit 128+N; the probe itself, as PID 1, cannot be told apart.
  if (variant.init !== "none" && t.exitCode > 128) return { kind: "killed", signal: signalName(t.exitCode - 128), how: `${variant.init}'s exit status ${t.exitCode}` };
  // Runtimes report death by signal N as 128+N, so a lower status can only be an exit.
  if (variant.init === "none" && (variant.runtime === "namespace" || t.exitCode < 128)) return { kind: "exited", code: t.exitCode, how: "PID 1's exit status" };
  return { kind: "unknown", how: `exit status ${t.exitCode} is ambiguous without strace` };
}

function describeEnds(trials: RaceTrial[]): string {
  return unique(
    trials.map((t) => {
      if (t.outcome === "lost") return "lost";
      if (t.outcome === "handled") return "handled by the program";
      if (t.probeEnd?.kind === "killed") return `probe killed by ${t.probeEnd.signal}, PID 1 exit ${t.exitCode ?? "?"}`;
      if (t.probeEnd?.kind === "exited") return `probe exited ${t.probeEnd.code}, PID 1 exit ${t.exitCode ?? "?"}`;
      return `PID 1 exit ${t.exitCode ?? "?"}${t.signal ? ` (killed by ${t.signal})` : ""}`;
    }),
  ).join("; ");
}

const outcomes = (trials: RaceTrial[]) => `${describeEnds(trials)} (${trials.length} trial${trials.length === 1 ? "" : "s"})`;

function window(trials: RaceTrial[], field: "handlerUs" | "notifyUs"): string {
  const parts = phaseBoundaries(trials).flatMap((b) => (b[field] ? [`${formatUs(b[field].median)} observed by ${b.observers}`] : []));
  return parts.join(" / ") || "unknown";
}

function aimHint(trials: RaceTrial[]): string {
  const handlers = trials.map((t) => t.handlerUs).filter((v): v is number => v !== null);
  return handlers.length ? `the handler was in place ${formatUs(Math.min(...handlers))} after exec at the earliest; try --offsets below that` : "the handler instant was never measured";
}

export const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
};

const range = (v: number[]) => (Math.min(...v) === Math.max(...v) ? `${v[0]}` : `${Math.min(...v)}–${Math.max(...v)}`);
const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, n]) => [n as number, name]));
const signalName = (n: number): string => SIGNAL_NAMES.get(n) ?? `signal ${n}`;
const unique = <T>(v: T[]): T[] => [...new Set(v)];
