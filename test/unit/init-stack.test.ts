import { describe, expect, it } from "vitest";
import type { InitStackTrial } from "../../scenarios/init-stack/analysis.js";
import { judgeS6 } from "../../scenarios/init-stack/claims.js";
import { describeMapping, mappingOf, parseMaps, parseProcSyscall } from "../../scenarios/init-stack/proc.js";

// Captured by the init-stack scenario (tini-static under the namespace runtime, Linux 6.x).
const TINI_MAPS = `00400000-00401000 r--p 00000000 00:2d 1185 /tini
00401000-0040d000 r-xp 00001000 00:2d 1185 /tini
00413000-00436000 rw-p 00000000 00:00 0 [heap]
7fff21223000-7fff21244000 rw-p 00000000 00:00 0 [stack]
7fff212fe000-7fff21300000 r-xp 00000000 00:00 0 [vdso]
`;

describe("/proc readers", () => {
  it("parses maps and finds the mapping of an address", () => {
    const maps = parseMaps(TINI_MAPS);
    expect(maps).toHaveLength(5);
    expect(describeMapping(mappingOf(maps, "0x7fff212435d0"))).toBe("[stack] 0x7fff21223000-0x7fff21244000 rw-p");
    expect(mappingOf(maps, "0x1000")).toBeNull();
    expect(mappingOf(maps, null)).toBeNull();
    expect(mappingOf(maps, "garbage")).toBeNull();
  });

  it.each([
    ["128 0x7fff212436d0 0x7fff21243650 0x7fff21243640 0x8 0x0 0x0 0x7fff212435d0 0x40a2bf", { nr: 128, name: "rt_sigtimedwait", running: false, sp: "0x7fff212435d0", pc: "0x40a2bf" }],
    ["running", { nr: null, running: true, sp: null }],
    ["-1 0x7fff212435d0 0x40a2bf", { nr: -1, name: null, sp: "0x7fff212435d0", pc: "0x40a2bf" }],
    ["999 0x0 0x0 0x0 0x0 0x0 0x0 0x10 0x20", { nr: 999, name: "syscall 999" }],
  ])("parses /proc/PID/syscall %s", (text, expected) => {
    expect(parseProcSyscall(text)).toMatchObject(expected);
  });
});

function trial(over: Partial<InitStackTrial>): InitStackTrial {
  return {
    trial: "t001", observers: "gdb", programPid: 20, pid1: 10, inHandler: true,
    threads: [
      { lwp: 20, rsp: "0xc0002a0", inStack: "gsignal", goid: 0, handling: true },
      { lwp: 21, rsp: "0xc0003a0", inStack: "g0", goid: 0, handling: false },
    ],
    handlerFrames: ["runtime.sighandler"],
    init: { pid: 10, comm: "tini", rsp: "0x7fff212435d0", mapping: "[stack] 0x7fff21223000-0x7fff21244000 rw-p", pc: "0x40a2bf", pcMapping: "/tini", syscall: "rt_sigtimedwait", frames: null, rspMappedInProgram: null },
    programStack: "[stack] 0x7ffd00000000-0x7ffd00021000 rw-p", programMapsInitBinary: false, altStacks: null, initSigchld: null, programAliveAfter: true, problems: [],
    refs: { breakpoint: null, sigchld: null, initState: null, programState: null, initGdb: null, after: null, threads: [], altStacks: [], initSigchld: [] },
    ...over,
  };
}
const variant = { runtime: "namespace", init: "tini", go: "go1.26.8" };

describe("judgeS6", () => {
  it.each([
    ["separate init on its own stack, handler on gsignal, every thread on a Go stack", trial({}), "refuted"],
    ["a Go thread outside every Go stack", trial({ threads: [{ lwp: 20, rsp: "0x1", inStack: "none", goid: null, handling: true }] }), "confirmed"],
    ["the handler thread not on gsignal", trial({ threads: [{ lwp: 20, rsp: "0xc0003a0", inStack: "g0", goid: 0, handling: true }] }), "inconclusive"],
    ["the program died after the handler", trial({ programAliveAfter: false }), "inconclusive"],
    ["the breakpoint was never hit", trial({ inHandler: false, threads: [], problems: ["the breakpoint at runtime.sighandler was not hit within 4000 ms"] }), "inconclusive"],
  ] as const)("%s → %s", (_name, t, verdict) => {
    const f = judgeS6(variant, [t]);
    expect(f.verdict).toBe(verdict);
    if (t.problems.length) expect(f.summary).toContain(t.problems[0]);
  });
});
