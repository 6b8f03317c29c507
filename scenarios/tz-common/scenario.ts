import type { FileAccess } from "../../src/evidence/file-access.js";
import type { Finding, TrialRequest, Variant } from "../../src/evidence/schemas.js";
import { defineScenario, type AxisSpec, type Claim, type Scenario } from "../../src/scenario/define.js";
import { tzTarget, type TargetOptions } from "./axes.js";
import { mergeTargetObservations, observeTrial, type TzObservation } from "./observe.js";
import { makeRender } from "./render.js";

// The shape every time-zone and locale scenario shares: the tz probe, run once per variant
// under strace (the opens are the evidence), nothing sent, a matrix rendered. A scenario
// brings its axes, what it asks the probe, and its judges.

export interface TzScenarioSpec {
  name: string;
  summary: string;
  help: string;
  claims: Claim[];
  axes: Record<string, AxisSpec>;
  target: TargetOptions;
  /** Which accesses the matrix shows: time-zone files, locale files, or both. */
  opens: "tz" | "locale";
  judge(variant: Variant, observations: TzObservation[]): Finding[];
  /** Observers other than strace (gdb stops the program; it cannot share ptrace with strace). */
  observers?: Scenario<TrialRequest>["observers"];
  /** The user's own programs it runs (`--binary`, `--image`): only axes marked for targets apply to them. */
  targets?: Scenario<TrialRequest>["targets"];
  /** Before the release (gdb attached to follow the program from its first instruction). */
  beforeRelease?: Scenario<TrialRequest>["beforeRelease"];
  /** What the trial does while the program runs (gdb checkpoints). */
  afterSends?: Scenario<TrialRequest>["afterSends"];
}

/** The probe exits within milliseconds by itself; longer means it hung. */
const SETTLE_MS = 5_000;

export function defineTzScenario(spec: TzScenarioSpec): Scenario<TrialRequest> {
  const opens = (o: TzObservation): FileAccess[] => (spec.opens === "tz" ? o.tzAccesses : o.localeAccesses);
  return defineScenario<TrialRequest>({
    name: spec.name,
    summary: spec.summary,
    help: spec.help,
    claims: spec.claims,
    probe: "tz",
    // The judges read the tz probe's own reports; a scenario that runs other programs reads them from strace and gdb.
    targets: spec.targets ?? [],
    // The question is what one process reads; an init would only add a second one.
    inits: ["none"],
    defaultInits: ["none"],
    observers: spec.observers ?? { supported: ["strace"], defaultSets: [["strace"]] },
    axes: spec.axes,
    options: {},
    signals: [],
    target: (variant) => tzTarget(variant, spec.target),
    sends: () => [],
    settleMs: () => SETTLE_MS,
    beforeRelease: spec.beforeRelease,
    afterSends: spec.afterSends,
    async sweep(ctx) {
      for (const observers of ctx.sweep.observerSets) {
        for (let i = 0; i < ctx.sweep.trials; i++) await ctx.runTrial({ observers, intent: "observe" });
      }
    },
    render: makeRender(opens),
    analyse: (variant, trials) => spec.judge(variant, mergeTargetObservations(trials.map(observeTrial))),
  });
}
