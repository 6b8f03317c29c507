import { variantAxes, variantKey, type Finding, type TrialEvidence, type Variant } from "../evidence/schemas.js";
import { observerSetKey, type ObserverName } from "../capture/observer.js";
import type { Scenario } from "../scenario/define.js";

// Pure renderings of a run: the progress line of one trial, the closing summary, and the
// --json document. The scenario renders its own part; this frames it. Kept apart from the
// command so they can be tested on a recorded run.

/** init, Go and the scenario's own axes: what tells the variants of one run apart. */
export const variantLabel = (v: Variant): string =>
  [`init=${v.init}`, v.go, ...variantAxes(v).map(([k, value]) => `${k}=${value ?? "unset"}`)].join(" · ");

export function formatTrialLine(scenario: Scenario, n: number, trial: TrialEvidence): string {
  return `[${String(n).padStart(3)}] ${variantLabel(trial.variant).padEnd(24)} ${scenario.render.trialLine(trial)}`;
}

export function formatRunSummary(scenario: Scenario, bundle: string, variants: Variant[], trials: TrialEvidence[], findings: Finding[]): string {
  const out: string[] = scenario.render.runSummary ? ["", ...scenario.render.runSummary(trials, findings)] : [];
  for (const variant of variants) {
    const key = variantKey(variant);
    out.push("", `${variant.runtime} · ${variantLabel(variant)}`);
    out.push(...scenario.render.variantSummary(variant, trials.filter((t) => variantKey(t.variant) === key)));
    for (const f of findings.filter((f) => variantKey(f.variant) === key)) {
      out.push(`  ${f.claim} ${f.verdict.toUpperCase().padEnd(12)} ${f.summary}`);
    }
  }
  out.push("", `bundle: ${bundle}`);
  return out.join("\n");
}

/** The `run --json` document. Its field names are a contract other tools read: add, never rename. */
export function runJson(scenario: Scenario, bundle: string, trials: TrialEvidence[], findings: Finding[]): unknown {
  return {
    bundle,
    scenario: scenario.name,
    ...scenario.render.runJson?.(trials, findings),
    findings: findings.map((f) => ({
      claim: f.claim,
      variant: f.variant,
      verdict: f.verdict,
      summary: f.summary,
      statement: f.statement,
      measurements: f.measurements,
      ...f.details,
      evidence: f.evidence,
    })),
    trials: trials.map((t) => ({
      id: t.id,
      variant: t.variant,
      observers: t.request.observers,
      observerSet: observerSetKey(t.request.observers as ObserverName[]),
      intent: t.request.intent,
      ...scenario.render.trialJson(t),
    })),
  };
}
