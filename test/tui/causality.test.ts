import { describe, expect, test } from "vitest";
import { trialFromEvidence } from "../../src/bundle/bundle-trial.js";
import { readBundle } from "../../src/bundle/read.js";
import type { AnyRecord } from "../../src/evidence/facets.js";
import type { TrialEvidence } from "../../src/evidence/schemas.js";
import { causalChain, causalEventsOf, type Stage } from "../../src/tui/causality.js";
import { indexTrial, type TrialIndex } from "../../src/tui/trial-index.js";
import { FIXTURE } from "./bundles.js";

const ORIGIN = 1_000_000_000;
const k = (kind: string, pid: number | null, atUs: number, rest: Record<string, unknown> = {}): AnyRecord => ({ kind, pid, comm: null, cpu: 0, ts: null, tsUs: ORIGIN + atUs, line: `${kind}@${atUs}`, ...rest });
const probe = (ev: string, atUs: number, fields: Record<string, unknown> = {}): AnyRecord => ({ kind: "probe", tsUs: ORIGIN + atUs, ev, fields });
const sys = (pid: number, atUs: number, syscall: string, args: string[], ret: string, extra: Record<string, unknown> = {}): AnyRecord => ({ kind: "syscall", pid, ts: null, tsUs: ORIGIN + atUs, syscall, args, ret, errno: null, errnoText: null, retNote: null, durationUs: 0, resumed: false, unfinished: false, ...extra });

/** A trial from records by source, indexed as the replay indexes it; the timeline is what buildTimeline would make of them. */
function trialOf(records: Partial<Record<"strace" | "kernel" | "probe" | "runtime", AnyRecord[]>>): TrialIndex {
  const timeline = Object.entries(records).flatMap(([source, list]) => list!.map((r, index) => ({ atUs: (r.tsUs as number) - ORIGIN, source, index, pid: (r.pid as number | null) ?? null, text: `${r.kind}` })));
  const trial = {
    id: "t1",
    variant: { runtime: "namespace", init: "none", go: "go1.26.8" },
    request: { observers: [], intent: "test" },
    raw: {},
    originUs: ORIGIN,
    origin: { us: ORIGIN, source: "kernel" },
    records: { probe: [], runtime: [], ...records },
    timeline: timeline.sort((a, b) => a.atUs - b.atUs),
  } as unknown as TrialEvidence;
  return indexTrial(trialFromEvidence(trial), []);
}

describe("causalEventsOf: what each record is in a signal's life", () => {
  const cases: [string, AnyRecord, "strace" | "kernel" | "probe" | "runtime", Partial<{ stage: Stage; sig: string | null; pid: number | null; target: number | null; atUs: number }> | null][] = [
    ["the driver's send, at its send instant", probe("driver", 10, { sends: [{ sig: 15, sendNs: String((ORIGIN + 500) * 1000) }], killPid: 100 }), "runtime", { stage: "send", sig: "SIGTERM", target: 100, atUs: 500 }],
    ["kernel signal_generate in the sender's context", k("signal-generate", 7, 501, { sig: 15, signal: "SIGTERM", targetPid: 100, resultName: "delivered" }), "kernel", { stage: "generate", sig: "SIGTERM", pid: 7, target: 100 }],
    ["kernel signal_deliver", k("signal-deliver", 100, 502, { sig: 15, signal: "SIGTERM", saHandler: "485900" }), "kernel", { stage: "deliver", pid: 100 }],
    ["uprobe on runtime.sighandler", k("uprobe", 100, 503, { event: "sighandler", fn: "runtime.sighandler", args: { sig: 15 } }), "kernel", { stage: "handler", sig: "SIGTERM" }],
    ["uprobe on runtime.sigsend", k("uprobe", 100, 504, { event: "sigsend", fn: "runtime.sigsend", args: { sig: 15 } }), "kernel", { stage: "sigsend" }],
    ["uprobe on os/signal.process", k("uprobe", 101, 505, { event: "signal_process", fn: "os/signal.process", args: { sig: 15 } }), "kernel", { stage: "notify" }],
    ["uprobe on runtime.setsig is no signal moment", k("uprobe", 100, 1, { event: "setsig", fn: "runtime.setsig", args: { sig: 15 } }), "kernel", null],
    ["strace's ptrace view of delivery", { kind: "signal", pid: 100, ts: null, tsUs: ORIGIN + 502, signal: "SIGTERM", info: {} }, "strace", { stage: "deliver", sig: "SIGTERM" }],
    ["an init taking it from rt_sigtimedwait, at the return", sys(1, 100, "rt_sigtimedwait", ["~[]"], "15", { durationUs: 400, resumed: true }), "strace", { stage: "deliver", sig: "SIGTERM", atUs: 500 }],
    ["a traced kill: its pid argument is the container's, so no host target", sys(1, 600, "kill", ["6", "SIGTERM"], "0"), "strace", { stage: "send", sig: "SIGTERM", target: null }],
    ["kill(pid, 0) is a probe, not a signal", sys(1, 600, "kill", ["6", "0"], "0"), "strace", null],
    ["clone → child", sys(1, 5, "clone", ["child_stack=NULL", "flags=CLONE_VM"], "42"), "strace", { stage: "child", target: 42 }],
    ["a thread's exit is no process exit", k("exit", 101, 900, { exitPid: 101, exitComm: "probe", prio: 120, groupDead: false }), "kernel", null],
    ["the last thread's exit is", k("exit", 100, 901, { exitPid: 100, exitComm: "probe", prio: 120, groupDead: true }), "kernel", { stage: "exit", pid: 100 }],
    ["the probe's signal event", probe("signal", 506, { name: "SIGTERM" }), "probe", { stage: "report", sig: "SIGTERM", pid: null }],
  ];
  test.each(cases)("%s", (_name, record, source, expected) => {
    const events = causalEventsOf(source, 0, record, ORIGIN);
    if (expected === null) expect(events).toEqual([]);
    else expect(events[0]).toMatchObject(expected);
  });
});

describe("causalChain", () => {
  // PID 1 is tini (host pid 100) forwarding to the Go probe (host pid 200, thread 201).
  const trial = trialOf({
    runtime: [probe("driver", 0, { sends: [{ sig: 15, sendNs: String((ORIGIN + 1000) * 1000) }], killPid: 100 }), probe("exit", 3000, { code: 0 })],
    kernel: [
      k("fork", 200, 10, { parentPid: 200, parentComm: "probe", childPid: 201, childComm: "probe" }),
      k("signal-generate", 9, 1010, { sig: 15, signal: "SIGTERM", targetPid: 100, resultName: "delivered" }),
      k("signal-generate", 100, 1100, { sig: 15, signal: "SIGTERM", targetPid: 200, resultName: "delivered" }),
      k("signal-deliver", 201, 1110, { sig: 15, signal: "SIGTERM", saHandler: "485900" }),
      k("uprobe", 201, 1120, { event: "sighandler", fn: "runtime.sighandler", args: { sig: 15 } }),
      k("uprobe", 201, 1130, { event: "sigsend", fn: "runtime.sigsend", args: { sig: 15 } }),
      k("signal-generate", 9, 1200, { sig: 9, signal: "SIGKILL", targetPid: 555, resultName: "delivered" }),
      k("exit", 200, 2500, { exitPid: 200, exitComm: "probe", prio: 120, groupDead: true }),
    ],
    strace: [sys(100, 1050, "rt_sigtimedwait", ["~[]"], "15", { durationUs: 20, resumed: true }), sys(100, 1090, "kill", ["6", "SIGTERM"], "0")],
    probe: [probe("signal", 1150, { name: "SIGTERM" }), probe("exit", 2400, { code: 0 })],
  });
  const stages = (source: "strace" | "kernel" | "probe" | "runtime", index: number) => causalChain(trial, source, index).map((h) => `${h.stage}:${h.source}#${h.index}`);
  const whole = ["send:runtime#0", "generate:kernel#1", "deliver:strace#0", "send:strace#1", "generate:kernel#2", "deliver:kernel#3", "handler:kernel#4", "sigsend:kernel#5", "report:probe#0", "exit:probe#1", "exit:kernel#7", "exit:runtime#1"];

  test("from the driver's send: every hop to the exits, across observers and the forward", () => {
    expect(stages("runtime", 0)).toEqual(whole);
  });
  test.each([
    ["the kernel's generate", "kernel", 1],
    ["a uprobe hit in a thread of the target", "kernel", 4],
    ["the probe's report", "probe", 0],
  ] as const)("from %s: the same chain (its episode's send is found first)", (_n, source, index) => {
    expect(stages(source, index)).toEqual(whole);
  });
  test("latencies are the gaps between hops", () => {
    const hops = causalChain(trial, "runtime", 0);
    expect(hops[0]!.latencyUs).toBeNull();
    expect(hops[1]!.latencyUs).toBe(10);
    expect(hops[5]!.latencyUs).toBe(10);
  });
  test("a SIGKILL to someone else is not in the SIGTERM chain", () => {
    expect(stages("runtime", 0)).not.toContain("generate:kernel#6");
  });
  test("a resumed call: the call and its resume", () => {
    const t = trialOf({ strace: [sys(5, 100, "read", ["3", '""', "10"], "0", { resumed: true, durationUs: 250 })] });
    expect(causalChain(t, "strace", 0).map((h) => [h.stage, h.atUs, h.latencyUs])).toEqual([
      ["resumed", 100, null],
      ["resumed", 350, 250],
    ]);
  });
  test("a clone: the call and the child's first record", () => {
    const t = trialOf({ strace: [sys(5, 100, "clone", ["flags=CLONE_VM"], "77"), sys(77, 130, "gettid", [], "77")] });
    expect(causalChain(t, "strace", 0).map((h) => `${h.stage}:${h.index}:${h.latencyUs}`)).toEqual(["child:0:null", "child:1:30"]);
  });
  test("a futex is in no chain", () => {
    const t = trialOf({ strace: [sys(5, 100, "futex", ["0x1", "FUTEX_WAKE_PRIVATE", "1"], "0")] });
    expect(causalChain(t, "strace", 0)).toEqual([]);
  });

  test("a real bundle: tini under strace+kernel, SIGTERM after Notify", async () => {
    const bundle = await readBundle(FIXTURE);
    const t005 = bundle.trials.find((t) => t.id === "t005")!;
    const driver = t005.evidence().records.runtime.findIndex((r) => r.kind === "probe" && r.ev === "driver");
    const hops = causalChain(indexTrial(t005, []), "runtime", driver);
    expect(hops.map((h) => `${h.stage}:${h.source}`)).toEqual([
      "send:runtime",
      "generate:kernel",
      "deliver:strace",
      "send:strace",
      "generate:kernel",
      "deliver:strace",
      "deliver:kernel",
      "handler:kernel",
      "sigsend:kernel",
      "notify:kernel",
      "report:probe",
      "exit:probe",
      "exit:kernel",
      "exit:strace",
      "exit:runtime",
    ]);
    // The observer effect, hop by hop: tini is stopped by ptrace ~17 ms before it takes the signal.
    expect(hops[2]!.latencyUs).toBeGreaterThan(10_000);
    expect(hops.every((h, i) => i === 0 || h.latencyUs! >= 0)).toBe(true);
  });
});
