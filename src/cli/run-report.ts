import type { Finding, TrialEvidence, Variant } from "../evidence/schemas.js";
import { variantKey } from "../evidence/schemas.js";
import type { Scenario, TrialSummary } from "../scenario/define.js";

// Pure renderings of a run: the progress line of one trial, the closing summary, and the
// --json document. Kept apart from the command so they can be tested on a recorded run.

export function formatTrialLine(n: number, variant: Variant, trial: TrialEvidence, s: TrialSummary): string {
  const phase = s.details.phase ? ` ${String(s.details.phase).padEnd(14)}` : "";
  const status = s.signal ? `killed by ${s.signal}` : `exit ${s.exitCode ?? "?"}`;
  return `[${String(n).padStart(3)}] ${variant.init.padEnd(11)} ${trial.request.strace ? "strace   " : "no strace"} sent +${formatUs(s.offsetUs).padEnd(9)}${phase} → ${s.outcome} (${status})`;
}

export function formatRunSummary(scenario: Scenario, bundle: string, variants: Variant[], trials: TrialEvidence[], findings: Finding[]): string {
  const out: string[] = [];
  for (const variant of variants) {
    const mine = trials.filter((t) => variantKey(t.variant) === variantKey(variant));
    out.push("", `${variant.runtime} · init=${variant.init} · ${variant.go}`);
    for (const strace of [false, true]) {
      const rows = mine.filter((t) => t.request.strace === strace).map((t) => scenario.summariseTrial(t));
      if (rows.length === 0) continue;
      const handler = rows.map((r) => r.details.handlerUs).filter((v): v is number => typeof v === "number");
      const notify = rows.map((r) => r.details.notifyUs).filter((v): v is number => typeof v === "number");
      out.push(
        `  ${strace ? "with strace   " : "without strace"}  earliest handler ${handler.length ? `+${formatUs(Math.min(...handler))}` : "?"}, earliest Notify ${notify.length ? `+${formatUs(Math.min(...notify))}` : "?"}`,
      );
      for (const r of rows) {
        out.push(`    sent +${formatUs(r.offsetUs).padEnd(9)} ${String(r.details.phase ?? "").padEnd(14)} → ${r.outcome}${r.details.probeEnd ? ` (probe ${r.details.probeEnd})` : ""}, PID 1 ${r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode ?? "?"}`}`);
      }
    }
    for (const f of findings.filter((f) => variantKey(f.variant) === variantKey(variant))) {
      out.push(`  ${f.claim} ${f.verdict.toUpperCase().padEnd(12)} ${f.summary}`);
    }
  }
  out.push("", `bundle: ${bundle}`);
  return out.join("\n");
}

export function runJson(scenario: Scenario, bundle: string, trials: TrialEvidence[], findings: Finding[]): unknown {
  return {
    bundle,
    scenario: scenario.name,
    findings: findings.map((f) => ({ claim: f.claim, variant: f.variant, verdict: f.verdict, summary: f.summary, statement: f.statement, measurements: f.measurements, evidence: f.evidence })),
    trials: trials.map((t) => {
      const s = scenario.summariseTrial(t);
      return { id: t.id, variant: t.variant, strace: t.request.strace, intent: t.request.intent, requestedOffsetUs: t.request.offsetUs, offsetUs: s.offsetUs, outcome: s.outcome, exitCode: s.exitCode, signal: s.signal, ...s.details };
    }),
  };
}

const formatUs = (us: number): string => (Math.abs(us) >= 10_000 ? `${(us / 1000).toFixed(1)}ms` : `${us}µs`);
