// Table tests of sigterm-race's pure decisions: where a send landed, and the verdict a set of
// classified trials gives. The trials here are RaceTrial values (the analysis's output), so
// each row states exactly the situation the judge sees; the recorded runs test the rest.
import { describe, expect, it } from "vitest";
import { classifyPhase, type RaceTrial } from "../../scenarios/sigterm-race/analysis.js";
import { judgeSignalClaims, phaseBoundaries } from "../../scenarios/sigterm-race/claims.js";
import type { RecordRef, Variant } from "../../src/evidence/schemas.js";

describe("classifyPhase", () => {
  it.each([
    // sent, sentEnd, handler done, handler started, notify → phase
    [100, 110, null, null, null, "before-handler"],
    [100, 110, 500, 480, 200_000, "before-handler"],
    [470, 490, 500, 480, 200_000, "boundary"],
    [495, 499, 500, 480, 200_000, "boundary"],
    [500, 510, 500, 480, 200_000, "before-notify"],
    [199_999, 200_010, 500, 480, 200_000, "before-notify"],
    [200_000, 200_010, 500, 480, 200_000, "after-notify"],
    [600, 610, 500, null, null, "before-notify"],
  ] as const)("sent %i–%i µs, handler %s (from %s), notify %s → %s", (sent, sentEnd, handler, handlerStart, notify, phase) => {
    expect(classifyPhase(sent, sentEnd, handler, handlerStart, notify)).toBe(phase);
  });
});

const ref = (trial: string, text: string): RecordRef => ({ trial, source: "runtime", index: 0, text });

function trial(over: Partial<RaceTrial> & Pick<RaceTrial, "trial" | "phase" | "outcome">): RaceTrial {
  return {
    observers: "none",
    strace: false,
    intent: "test",
    requestedOffsetUs: over.sentUs ?? 0,
    driverLagUs: 0,
    sentUs: 0,
    handlerUs: 400,
    handlerSource: "sigcgt",
    notifyUs: 200_000,
    signalFate: null,
    lostBy: null,
    forwardErrno: null,
    init: null,
    exitCode: null,
    signal: null,
    probeEnd: null,
    refs: { send: ref(over.trial, "send"), handler: null, notify: null, fate: null, delivery: null, handled: null, deadlineKill: null, lost: null, exit: ref(over.trial, "exit"), fallback: [] },
    ...over,
  };
}

const probeAsPid1: Variant = { runtime: "namespace", init: "none", go: "go1.26.8" };
const underTini: Variant = { runtime: "namespace", init: "tini", go: "go1.26.8" };
const verdicts = (variant: Variant, trials: RaceTrial[]) => Object.fromEntries(judgeSignalClaims(variant, trials).map((f) => [f.claim, f.verdict]));

describe("judgeSignalClaims", () => {
  const handled = trial({ trial: "t1", phase: "after-notify", outcome: "handled", sentUs: 500_000, exitCode: 0 });
  const lostEarly = trial({ trial: "t2", phase: "before-handler", outcome: "lost", sentUs: 50, exitCode: 137, signal: "SIGKILL" });
  const exit2 = trial({ trial: "t3", phase: "before-notify", outcome: "runtime-default", sentUs: 100_000, exitCode: 2 });
  const killed143 = trial({ trial: "t4", phase: "before-notify", outcome: "runtime-default", sentUs: 100_000, exitCode: 143 });
  const forwardedEarly = trial({ trial: "t5", phase: "before-handler", outcome: "runtime-default", sentUs: 50, exitCode: 143 });

  it.each([
    ["the probe as PID 1: lost before the handler, exit 2 before Notify", probeAsPid1, [handled, lostEarly, exit2], { S1: "confirmed", S2: "confirmed", S7: "confirmed" }],
    ["the probe as PID 1: nothing sent before the handler", probeAsPid1, [handled, exit2], { S1: "inconclusive", S2: "inconclusive", S7: "confirmed" }],
    ["the probe as PID 1: nothing sent between the handler and Notify", probeAsPid1, [handled, lostEarly], { S1: "confirmed", S2: "confirmed", S7: "inconclusive" }],
    ["tini: forwarded and killed by SIGTERM (143) in both early phases", underTini, [handled, forwardedEarly, killed143], { S2: "refuted", S7: "refuted" }],
  ] as const)("%s", (_name, variant, trials, expected) => {
    expect(verdicts(variant, [...trials])).toMatchObject(expected);
  });

  it("cites the records of the trials it judged, and only those", () => {
    const findings = judgeSignalClaims(probeAsPid1, [handled, lostEarly, exit2]);
    for (const f of findings) for (const e of f.evidence) expect(["t1", "t2", "t3"]).toContain(e.trial);
    expect(findings.find((f) => f.claim === "S1")!.evidence.map((e) => e.trial)).toEqual(["t2", "t2"]);
  });
});

describe("phaseBoundaries", () => {
  it("gives one row per observer set with min, median and max", () => {
    const rows = phaseBoundaries([
      trial({ trial: "a", phase: "after-notify", outcome: "handled", handlerUs: 300, notifyUs: 201_000 }),
      trial({ trial: "b", phase: "after-notify", outcome: "handled", handlerUs: 500, notifyUs: 203_000 }),
      trial({ trial: "c", phase: "after-notify", outcome: "handled", handlerUs: 2_000, notifyUs: null, observers: "strace", strace: true }),
    ]);
    expect(rows).toEqual([
      { observers: "none", handlerUs: { min: 300, median: 400, max: 500 }, notifyUs: { min: 201_000, median: 202_000, max: 203_000 } },
      { observers: "strace", handlerUs: { min: 2_000, median: 2_000, max: 2_000 }, notifyUs: null },
    ]);
  });
});
