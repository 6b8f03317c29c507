import { describe, expect, it } from "vitest";
import { accountLosses, type StageCounts } from "../../scenarios/signal-backlog/accounting.js";
import { judgeBacklogClaims } from "../../scenarios/signal-backlog/claims.js";
import type { BacklogTrial } from "../../scenarios/signal-backlog/accounting.js";

const counts = (c: Partial<StageCounts>): StageCounts => ({
  sent: 0, sendErrors: 0, generated: 0, coalescedAtInit: 0, queued: 0, coalesced: 0, otherResults: 0, kernelDeliveries: 0,
  sighandlerCalls: 0, sigsendCalls: 0, processCalls: 0, received: 0, buffered: 0, ...c,
});

describe("accountLosses", () => {
  it.each([
    // name, counts, expected buckets
    ["nothing lost", { sent: 10, generated: 10, queued: 10, sigsendCalls: 10, processCalls: 10, received: 10 }, { lost: 0, coalescedKernel: 0, coalescedRuntime: 0, dropped: 0, unaccounted: 0 }],
    ["kernel coalescing only", { sent: 200, generated: 200, queued: 1, coalesced: 199, sigsendCalls: 1, processCalls: 1, received: 1 }, { lost: 199, coalescedKernel: 199, coalescedRuntime: 0, dropped: 0, unaccounted: 0 }],
    ["mask coalescing", { sent: 5, generated: 5, queued: 5, sigsendCalls: 5, processCalls: 3, received: 3 }, { lost: 2, coalescedRuntime: 2, dropped: 0, unaccounted: 0 }],
    ["full channel", { sent: 5, generated: 5, queued: 5, sigsendCalls: 5, processCalls: 5, received: 0, buffered: 1 }, { lost: 4, dropped: 4, unaccounted: 0 }],
    ["kill failed", { sent: 5, generated: 4, queued: 4, sigsendCalls: 4, processCalls: 4, received: 4 }, { lost: 1, notGenerated: 1, unaccounted: 0 }],
    ["coalesced at the init", { sent: 10, coalescedAtInit: 4, generated: 6, queued: 6, sigsendCalls: 6, processCalls: 6, received: 6 }, { lost: 4, coalescedInit: 4, notGenerated: 0, unaccounted: 0 }],
    ["queued but never sent to the runtime", { sent: 5, generated: 5, queued: 5, sigsendCalls: 4, processCalls: 4, received: 4 }, { lost: 1, unaccounted: 1 }],
  ] as const)("%s", (_name, c, expected) => {
    const a = accountLosses(counts(c));
    expect(a).toMatchObject(expected);
    // Every lost signal is in exactly one bucket.
    expect(a.coalescedInit + a.notGenerated + a.coalescedKernel + a.otherResults + a.coalescedRuntime + a.dropped + a.unaccounted).toBe(a.lost);
  });
});

describe("accountLosses for a user's program, followed as far as the records go", () => {
  const c = counts({ sent: 100, generated: 100, queued: 10, coalesced: 90, sigsendCalls: 10, processCalls: 7 });
  it("to os/signal: reached = process calls, mask coalescing counted, no channel stage", () => {
    expect(accountLosses(c, "os-signal")).toMatchObject({ upTo: "os-signal", reached: 7, lost: 93, coalescedKernel: 90, coalescedRuntime: 3, dropped: 0, unaccounted: 0 });
  });
  it("to the kernel's delivery: reached = queued, nothing attributed past the kernel", () => {
    expect(accountLosses(counts({ sent: 100, generated: 100, queued: 10, coalesced: 90 }), "kernel")).toMatchObject({ upTo: "kernel", reached: 10, lost: 90, coalescedRuntime: 0, dropped: 0, unaccounted: 0 });
  });
});

function trial(over: Partial<BacklogTrial> & { counts: StageCounts }): BacklogTrial {
  return {
    trial: "t001", signal: "SIGTERM", load: 1000, cap: "1", reader: "fast", kernel: true, view: "channel", userTarget: false, unseen: null, kernelLostEvents: 0,
    accounting: accountLosses(over.counts), windowUs: 100, notifyCallUs: 20, firstSendAfterNotifyUs: 45_000, notifyAfterExecUs: 3000, early: false, window: null, sendSpanUs: 199_000,
    checkpoint: null, exitCode: 0, loadavg: null,
    refs: { driver: null, notify: null, receiving: null, counts: { trial: "t001", source: "probe", index: 3, text: "counts" }, firstCoalesced: null, firstGenerate: null, firstSigsend: null, firstProcess: null, checkpoint: [] },
    ...over,
  };
}
const variant = { runtime: "namespace", init: "none", go: "go1.26.8", cap: "1", reader: "fast" };

describe("judgeBacklogClaims", () => {
  it("S3 follows whether every SIGTERM reached the channel", () => {
    const whole = trial({ counts: counts({ sent: 10, generated: 10, queued: 10, sigsendCalls: 10, processCalls: 10, received: 10 }) });
    const lossy = trial({ counts: counts({ sent: 10, generated: 10, queued: 8, coalesced: 2, sigsendCalls: 8, processCalls: 8, received: 8 }) });
    expect(judgeBacklogClaims(variant, [whole])[0]!.verdict).toBe("confirmed");
    expect(judgeBacklogClaims(variant, [whole, lossy])[0]).toMatchObject({ verdict: "refuted", measurements: { sent: 20, lost: 2 } });
    expect(judgeBacklogClaims(variant, [{ ...whole, signal: "SIGUSR1" }])[0]!.verdict).toBe("inconclusive");
  });

  it("S4 rests on gdb's answers: refuted when the seed's symbol is refused and runtime.sig was read", () => {
    const cp = { read: true, problem: null, mask: [], wanted: ["SIGTERM"], recv: [], state: "receiving", handlers: { SIGTERM: 1 }, seedExpression: { command: "p runtime.sighandlers.sigsend.len", answer: "No symbol", refused: true }, seedSymbol: { command: "p 'runtime.sighandlers'", answer: "No symbol", refused: true } };
    const t = trial({ counts: counts({ sent: 1, generated: 1, queued: 1, sigsendCalls: 1, processCalls: 1, received: 1 }), checkpoint: cp });
    expect(judgeBacklogClaims(variant, [t])[1]!.verdict).toBe("refuted");
    expect(judgeBacklogClaims(variant, [{ ...t, checkpoint: { ...cp, read: false, problem: "PTRACE_DENIED: gdb may not attach" } }])[1]).toMatchObject({ verdict: "inconclusive", summary: expect.stringContaining("PTRACE_DENIED") });
    expect(judgeBacklogClaims(variant, [{ ...t, checkpoint: null }])[1]!.verdict).toBe("inconclusive");
    expect(judgeBacklogClaims(variant, [{ ...t, checkpoint: { ...cp, seedSymbol: { ...cp.seedSymbol, answer: "{sigsend = …}", refused: false } } }])[1]!.verdict).toBe("confirmed");
  });

  it("S8 is refuted when every loss at the seed's rate has a recorded cause, inconclusive when some has none", () => {
    const caused = trial({ counts: counts({ sent: 200, generated: 200, queued: 150, coalesced: 50, sigsendCalls: 150, processCalls: 150, received: 150 }) });
    const uncaused = trial({ counts: counts({ sent: 200, generated: 200, queued: 200, sigsendCalls: 199, processCalls: 199, received: 199 }) });
    const s8 = judgeBacklogClaims(variant, [caused])[2]!;
    expect(s8.verdict).toBe("refuted");
    expect(s8.measurements).toMatchObject({ windowUsMedian: 100, seedWindowUsMin: 8, seedLossRate: 0.007 });
    expect(judgeBacklogClaims(variant, [uncaused])[2]!.verdict).toBe("inconclusive");
    expect(judgeBacklogClaims(variant, [{ ...caused, load: "burst" }])[2]!.verdict).toBe("inconclusive");
    // Signals sent inside the window: taken by os/signal refutes the mechanism; ignored by the kernel is the seed's.
    const held = { ...caused, window: { sent: 150, ignored: 0, coalesced: 10, reachedOsSignal: 140 } };
    expect(judgeBacklogClaims(variant, [held])[2]).toMatchObject({ verdict: "refuted", measurements: { windowSent: 150, windowIgnored: 0, windowReachedOsSignal: 140 } });
    expect(judgeBacklogClaims(variant, [{ ...held, window: { ...held.window, ignored: 3 } }])[2]!.verdict).toBe("confirmed");
  });
});
