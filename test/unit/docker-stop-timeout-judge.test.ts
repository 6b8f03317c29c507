import { describe, expect, it } from "vitest";
import type { StopTrial } from "../../scenarios/docker-stop-timeout/analysis.js";
import { classifyAgainstS5, judgeS5 } from "../../scenarios/docker-stop-timeout/claims.js";

function trial(over: Partial<StopTrial>): StopTrial {
  return {
    trial: "t001", stopTimeoutS: 1, handlerMs: 2000, path: "/slow", sigtermUs: 1_000_000, sigkillUs: null, timing: "kernel", sigtermToSigkillMs: null,
    sigtermDeliveredTo: [42], sigkillDeliveredTo: [], shutdownBegin: true, shutdownEnd: false, shutdownSource: "probe", sigtermTakenBy: "notify", unseen: null, userTarget: false, pid1Shell: false, shutdownMs: null, shutdownNeededMs: 1900, exitCode: null, client: null, outcome: "other",
    refs: { sigterm: null, sigkill: null, sigtermDelivery: null, sigkillDelivery: null, stop: null, requestBegin: null, shutdownBegin: null, shutdownEnd: null, client: null, exit: null },
    ...over,
  };
}
const killed = trial({ sigkillUs: 2_005_000, sigtermToSigkillMs: 1005, exitCode: 137, outcome: "killed" });
const graceful = trial({ stopTimeoutS: 4, shutdownEnd: true, shutdownMs: 2100, exitCode: 0, outcome: "graceful" });
const variant = { runtime: "docker", init: "none", go: "go1.26.8" };

describe("classifyAgainstS5", () => {
  it.each([
    ["killed at -t while Shutdown ran", killed, "kill-at-timeout"],
    ["killed long after -t", trial({ ...killed, sigtermToSigkillMs: 3000 }), "contradicts"],
    ["killed though Shutdown never began", trial({ ...killed, shutdownBegin: false }), "contradicts"],
    ["ended on its own before -t", graceful, "graceful-before-timeout"],
    ["a Shutdown longer than -t that was not killed", trial({ ...graceful, stopTimeoutS: 1 }), "contradicts"],
    ["no SIGTERM seen", trial({ sigtermUs: null }), "unknown"],
    ["a user's program killed at -t whose Shutdown no record shows", trial({ ...killed, userTarget: true, shutdownBegin: null, unseen: "no uprobe" }), "unknown"],
    ["a shell as PID 1 that kept SIGTERM: killed at -t, the program never began a Shutdown", trial({ ...killed, userTarget: true, pid1Shell: true, shutdownBegin: false }), "unknown"],
    ["ended at SIGTERM by Go's default action", trial({ shutdownBegin: false, sigtermTakenBy: "runtime-default", exitCode: 2 }), "ended-without-shutdown"],
  ] as const)("%s", (_name, t, expected) => {
    expect(classifyAgainstS5(t)).toBe(expected);
  });
});

describe("judgeS5", () => {
  it("confirms on a kill at the timeout, refutes on any contradiction, and stays inconclusive without a kill", () => {
    expect(judgeS5(variant, [killed, graceful])).toMatchObject({ verdict: "confirmed", measurements: { sigtermToSigkillMsMin: 1005, killedTrials: 1, gracefulTrials: 1 } });
    expect(judgeS5(variant, [killed, trial({ ...killed, sigtermToSigkillMs: 3000 })]).verdict).toBe("refuted");
    expect(judgeS5(variant, [graceful]).verdict).toBe("inconclusive");
  });

  it("says why it is inconclusive: what the records lacked, or a program with no graceful path", () => {
    const unseen = trial({ ...killed, userTarget: true, shutdownBegin: null, unseen: "no uprobe on os/signal.process (stripped): whether the program began a graceful shutdown cannot be seen" });
    expect(judgeS5(variant, [unseen])).toMatchObject({ verdict: "inconclusive", summary: expect.stringMatching(/shutdown unseen.*cannot be seen$/) });
    const noNotify = trial({ userTarget: true, shutdownBegin: false, sigtermTakenBy: "runtime-default", exitCode: 2 });
    expect(judgeS5(variant, [noNotify]).summary).toMatch(/never subscribed with signal\.Notify/);
  });
});
