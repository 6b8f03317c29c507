import type { TrialEvidence, Variant } from "../../src/evidence/schemas.js";
import { formatUs } from "../../src/format.js";
import type { ScenarioRender } from "../../src/scenario/define.js";
import { analyseRaceTrial, type RaceTrial } from "./analysis.js";
import { phaseBoundaries } from "./claims.js";

// How a sigterm-race trial and variant read in the terminal and in `run --json`.

/** What the trial ran, as its runtime.jsonl recorded it. */
const targetOf = (trial: TrialEvidence): { label: string; shellForm: boolean } | undefined => {
  const container = trial.records.runtime.find((r) => r.kind === "probe" && r.ev === "container");
  return container?.kind === "probe" ? (container.fields.target as { label: string; shellForm: boolean } | undefined) : undefined;
};

const status = (t: RaceTrial) => (t.signal ? `killed by ${t.signal}` : `exit ${t.exitCode ?? "?"}`);
const LOST_BY: Record<NonNullable<RaceTrial["lostBy"]>, string> = {
  kernel: " [the kernel ignored it]",
  "pid1-handler": " [PID 1's handler kept it]",
  "child-before-exec": " [forwarded to the init's child before its exec: its inherited handler kept it]",
  "forward-failed": " [PID 1 took it; its kill(2) to pass it on failed]",
};
const lost = (t: RaceTrial) => (t.lostBy ? LOST_BY[t.lostBy] : "");
const probeEnd = (t: RaceTrial) => (t.probeEnd ? (t.probeEnd.kind === "exited" ? `exited ${t.probeEnd.code}` : `killed by ${t.probeEnd.signal}`) : null);

export const render: ScenarioRender = {
  trialLine(trial: TrialEvidence) {
    const t = analyseRaceTrial(trial);
    return `${t.observers.padEnd(13)} sent +${formatUs(t.sentUs, { compact: true }).padEnd(9)} ${t.phase.padEnd(14)} → ${t.outcome}${lost(t)} (${status(t)})`;
  },

  variantSummary(_variant: Variant, trials: TrialEvidence[]) {
    const rows = trials.map(analyseRaceTrial);
    const out: string[] = [];
    const shell = trials.map(targetOf).find((t) => t?.shellForm);
    if (shell) out.push(`  PID 1 is a shell: the image's entrypoint is in shell form (${shell.label}); SIGTERM reaches the shell, which passes it on only if it exec'd the program`);
    for (const b of phaseBoundaries(rows)) {
      const span = (s: { min: number; median: number; max: number } | null) =>
        s ? `+${formatUs(s.median, { compact: true })} (${formatUs(s.min, { compact: true })}–${formatUs(s.max, { compact: true })})` : "?";
      out.push(`  observed by ${b.observers.padEnd(13)} Go's handler ${span(b.handlerUs)}, Notify ${span(b.notifyUs)}  [median (min–max) after exec]`);
      for (const t of rows.filter((r) => r.observers === b.observers)) {
        const end = probeEnd(t);
        out.push(`    sent +${formatUs(t.sentUs, { compact: true }).padEnd(9)} ${t.phase.padEnd(14)} → ${t.outcome}${lost(t)}${end ? ` (probe ${end})` : ""}, PID 1 ${status(t)}`);
      }
    }
    return out;
  },

  trialJson(trial: TrialEvidence) {
    const t = analyseRaceTrial(trial);
    return {
      strace: t.strace,
      requestedOffsetUs: t.requestedOffsetUs,
      offsetUs: t.sentUs,
      outcome: t.outcome,
      exitCode: t.exitCode,
      signal: t.signal,
      phase: t.phase,
      handlerUs: t.handlerUs,
      handlerSource: t.handlerSource,
      signalFate: t.signalFate,
      lostBy: t.lostBy,
      forwardErrno: t.forwardErrno,
      notifyUs: t.notifyUs,
      probeEnd: probeEnd(t),
      origin: trial.origin.source,
      pid1Shell: targetOf(trial)?.shellForm ?? false,
      driverLagUs: t.driverLagUs,
    };
  },
};
