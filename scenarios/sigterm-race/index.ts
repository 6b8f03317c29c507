import type { ObserverName } from "../../src/capture/observer.js";
import { defineScenario, type SweepContext } from "../../src/scenario/define.js";
import { analyseRaceTrial, type RaceTrial } from "./analysis.js";
import { judgeSignalClaims, SIGNAL_CLAIMS } from "./claims.js";
import { render } from "./render.js";
import type { SigtermRequest } from "./request.js";

// What happens to a SIGTERM sent before, during and after a Go program is ready for it.
// The probe sleeps NOTIFY_DELAY_MS before signal.Notify so the middle phase is wide enough
// to hit on purpose; the first phase (exec → Go's runtime handler) is a few hundred µs and
// is aimed at from what the calibration trial measured.

const NOTIFY_DELAY_MS = 200;
/** Calibration sends well after Notify: it measures both boundaries and the handled path. */
const AFTER_NOTIFY_US = (NOTIFY_DELAY_MS + 300) * 1000;
const AIM_ATTEMPTS = 3;
/** How long after a measured Notify a re-aimed calibration sends. */
const NOTIFY_MARGIN_US = 300_000;
const SIGTERM = 15;
/** The driver's offsets stop here: a send later than a minute is no race any more. */
const MAX_OFFSET_US = 60_000_000;

// Digits only: Number() would take "", "0x10" and "1e3" as numbers.
const WHOLE = /^\d+$/;

function parseOffsets(value: string): number[] {
  const offsets = value.split(",").map((s) => (WHOLE.test(s.trim()) ? Number(s) : NaN));
  if (offsets.length === 0 || offsets.some((n) => !Number.isInteger(n) || n < 0 || n > MAX_OFFSET_US)) {
    throw new Error(`expected comma-separated whole µs from 0 to ${MAX_OFFSET_US}, got "${value}"`);
  }
  return offsets;
}

export default defineScenario<SigtermRequest>({
  name: "sigterm-race",
  summary: "SIGTERM before Go's handler, before signal.Notify, and after it: lost, runtime default, or handled (S1, S2, S7)",
  help: `sigterm-race reports for every trial:
  phase    where the send landed: before-handler (Go's runtime has no SIGTERM handler yet),
           before-notify (handler in, signal.Notify not called yet), after-notify
  outcome  lost (still running; the harness SIGKILLs it), runtime-default (ended without
           handling it: exit status or killed-by as observed), handled (its own Notify path ran)
  and a verdict per variant on claims S1, S2, S7 (docs/claims.md), citing the records behind
  it, with the phase boundaries as each observer set measured them (the observer effect).`,
  claims: [SIGNAL_CLAIMS.S1, SIGNAL_CLAIMS.S2, SIGNAL_CLAIMS.S7],
  probe: "sigterm",
  targets: ["binary", "image"],
  inits: ["none", "tini", "dumb-init", "docker-init"],
  defaultInits: ["none", "tini", "dumb-init"],
  observers: { supported: ["strace", "kernel"], defaultSets: [[], ["kernel"], ["strace"]] },
  axes: {},
  options: {
    offsets: { flag: "--offsets <µs,...>", description: "send SIGTERM at these µs after the exec instead of aiming at each phase", parse: parseOffsets },
  },
  signals: [SIGTERM],
  target: () => ({ args: [`-notify-delay=${NOTIFY_DELAY_MS}ms`], env: {}, files: [] }),
  sends: (request) => [{ sig: SIGTERM, atUs: request.offsetUs }],
  // A signal that took effect ends the program within milliseconds; one still running a
  // good while after Notify would have fired has been lost.
  settleMs: (request) => Math.ceil(Math.max(0, NOTIFY_DELAY_MS - request.offsetUs / 1000)) + (request.observers.includes("strace") ? 800 : 400),

  async sweep(ctx: SweepContext<SigtermRequest>) {
    const offsets = (ctx.sweep.options.offsets as number[] | undefined) ?? [];
    for (const observers of ctx.sweep.observerSets) {
      const run = async (offsetUs: number, intent: string) => analyseRaceTrial(await ctx.runTrial({ offsetUs, observers: observers as ObserverName[], intent }));
      if (offsets.length > 0) {
        for (const offsetUs of offsets) for (let i = 0; i < ctx.sweep.trials; i++) await run(offsetUs, "given offset");
        continue;
      }
      for (let i = 0; i < ctx.sweep.trials; i++) {
        // A loaded machine (or strace) can delay Notify past the calibration's send: then it is
        // re-aimed after the Notify it measured.
        const first = await run(AFTER_NOTIFY_US, "aim:after-notify");
        const calibration =
          first.phase === "after-notify" ? first : await run(first.notifyUs !== null ? first.notifyUs + NOTIFY_MARGIN_US : 2 * AFTER_NOTIFY_US, "aim:after-notify (retry 1)");
        // At the exec itself: PID 1 (the probe, or an init) has had no time to prepare.
        await run(0, "aim:exec");
        await aim(run, "before-handler", calibration);
        await aim(run, "before-notify", calibration);
      }
    }
  },

  render,
  analyse: (variant, trials) => judgeSignalClaims(variant, trials.map(analyseRaceTrial)),
});

/**
 * Start-up time varies from trial to trial (an init's fork+exec most of all), so a miss is
 * re-aimed from what the missing trial measured. The driver counts offsets from its own
 * sight of the exec, which lags the origin by driverLagUs: the request subtracts that lag,
 * and never goes below 0.
 */
async function aim(run: (offsetUs: number, intent: string) => Promise<RaceTrial>, phase: "before-handler" | "before-notify", from: RaceTrial): Promise<void> {
  let last = from;
  let handler = from.handlerUs;
  for (let attempt = 0; attempt < AIM_ATTEMPTS; attempt++) {
    handler = Math.min(handler ?? Infinity, last.handlerUs ?? Infinity);
    const notify = last.notifyUs ?? NOTIFY_DELAY_MS * 1000;
    const targetUs =
      phase === "before-handler"
        ? Number.isFinite(handler) ? Math.floor(handler! / 2) : 0
        : Math.round(((Number.isFinite(handler) ? handler! : 0) + notify) / 2);
    last = await run(Math.max(0, targetUs - last.driverLagUs), `aim:${phase}${attempt > 0 ? ` (retry ${attempt})` : ""}`);
    if (last.phase === phase) return;
  }
}
