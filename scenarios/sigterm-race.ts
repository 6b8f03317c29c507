import { analyseRaceTrial, type RaceTrial } from "../src/evidence/race-window.js";
import { judgeSignalClaims, SIGNAL_CLAIMS } from "../src/evidence/signal-claims.js";
import { defineScenario, type SweepContext } from "../src/scenario/define.js";

// What happens to a SIGTERM sent before, during and after a Go program is ready for it.
// The probe sleeps NOTIFY_DELAY_MS before signal.Notify so the middle phase is wide enough
// to hit on purpose; the first phase (exec → Go's runtime handler) is a few hundred µs and
// is aimed at from what the calibration trial measured.

const NOTIFY_DELAY_MS = 200;
/** Calibration sends well after Notify: it measures both boundaries and the handled path. */
const AFTER_NOTIFY_US = (NOTIFY_DELAY_MS + 300) * 1000;
const AIM_ATTEMPTS = 3;

export default defineScenario({
  name: "sigterm-race",
  summary: "SIGTERM before Go's handler, before signal.Notify, and after it: lost, runtime default, or handled (S1, S2, S7)",
  claims: [SIGNAL_CLAIMS.S1, SIGNAL_CLAIMS.S2, SIGNAL_CLAIMS.S7],
  probe: "sigterm",
  probeArgs: [`-notify-delay=${NOTIFY_DELAY_MS}ms`],
  signal: 15,
  inits: ["none", "tini", "dumb-init", "docker-init"],
  defaultInits: ["none", "tini", "dumb-init"],
  // A signal that took effect ends the program within milliseconds; one still running a
  // good while after Notify would have fired has been lost.
  settleMs: (request) => Math.ceil(Math.max(0, NOTIFY_DELAY_MS - request.offsetUs / 1000)) + (request.strace ? 800 : 400),

  async sweep(ctx: SweepContext) {
    const modes = ctx.options.strace === "both" ? [false, true] : [ctx.options.strace === "on"];
    for (const strace of modes) {
      const run = async (offsetUs: number, intent: string) => analyseRaceTrial(await ctx.runTrial({ offsetUs, strace, intent }));
      if (ctx.options.offsetsUs.length > 0) {
        for (const offsetUs of ctx.options.offsetsUs) for (let i = 0; i < ctx.options.trials; i++) await run(offsetUs, "given offset");
        continue;
      }
      for (let i = 0; i < ctx.options.trials; i++) {
        const calibration = await run(AFTER_NOTIFY_US, "aim:after-notify");
        // At the exec itself: PID 1 (the probe, or an init) has had no time to prepare.
        await run(0, "aim:exec");
        await aim(run, "before-handler", calibration);
        await aim(run, "before-notify", calibration);
      }
    }
  },

  summariseTrial(evidence) {
    const t = analyseRaceTrial(evidence);
    return {
      offsetUs: t.sentUs,
      outcome: t.outcome,
      exitCode: t.exitCode,
      signal: t.signal,
      details: { phase: t.phase, handlerUs: t.handlerUs, handlerSource: t.handlerSource, notifyUs: t.notifyUs, probeEnd: t.probeEnd ? (t.probeEnd.kind === "exited" ? `exited ${t.probeEnd.code}` : `killed by ${t.probeEnd.signal}`) : null },
    };
  },

  analyse: (variant, trials) => judgeSignalClaims(variant, trials.map(analyseRaceTrial)),
});

/** Start-up time varies from trial to trial (an init's fork+exec most of all), so a miss is re-aimed from what the missing trial measured. */
async function aim(run: (offsetUs: number, intent: string) => Promise<RaceTrial>, phase: "before-handler" | "before-notify", from: RaceTrial): Promise<void> {
  let last = from;
  let handler = from.handlerUs;
  for (let attempt = 0; attempt < AIM_ATTEMPTS; attempt++) {
    handler = Math.min(handler ?? Infinity, last.handlerUs ?? Infinity);
    const notify = last.notifyUs ?? NOTIFY_DELAY_MS * 1000;
    const offsetUs =
      phase === "before-handler"
        ? Number.isFinite(handler) ? Math.floor(handler / 2) : 0
        : Math.round(((Number.isFinite(handler) ? handler : 0) + notify) / 2);
    last = await run(offsetUs, `aim:${phase}${attempt > 0 ? ` (retry ${attempt})` : ""}`);
    if (last.phase === phase) return;
  }
}
