import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeSigMask, NO_DWARF, readGoRuntime, splitSnapshots, stackRegion } from "../../src/evidence/go-runtime.js";
import { parseGdbText } from "../../src/parse/gdb.js";

const DIR = join(import.meta.dirname, "../fixtures/gdb");
const parse = (file: string) => parseGdbText(readFileSync(join(DIR, file), "utf8"));

describe("decodeSigMask", () => {
  it.each([
    [[0, 0, 0], []],
    [[0x8400, 0, 0], ["SIGUSR1", "SIGTERM"]],
    [[0x4, 0, 0], ["SIGINT"]],
    [[0x800000, 0, 0], ["SIGURG"]],
    [[0, 0x3, 0], ["SIG32", "SIG33"]],
    [[0x80000000, 0, 0x1], ["SIGSYS", "SIG64"]],
  ])("%j → %j", (words, names) => {
    expect(decodeSigMask(words)).toEqual(names);
  });
});

describe("stackRegion", () => {
  const g0 = { lo: 0x1000, hi: 0x2000 };
  const gsignal = { lo: 0x3000, hi: 0x4000 };
  const goroutine = { lo: 0x5000, hi: 0x5800 };
  it.each([
    ["0x1800", { g0, gsignal, stack: g0 }, "g0"],
    ["0x3ff8", { g0, gsignal, stack: gsignal }, "gsignal"],
    ["0x57f0", { g0, gsignal, stack: goroutine }, "goroutine"],
    ["0x2000", { g0, gsignal, stack: goroutine }, "none"],
    ["0x5000", { g0: null, gsignal: null, stack: goroutine }, "goroutine"],
    [null, { g0, gsignal, stack: goroutine }, "none"],
    ["0xffffffffffffff00", { g0: { lo: "18446744073709551000", hi: "18446744073709551615" }, gsignal: null, stack: null }, "g0"],
  ] as const)("rsp %s → %s", (rsp, ranges, region) => {
    expect(stackRegion(rsp, ranges)).toBe(region);
  });
});

// The three snapshots of each capture: before the signal, stopped in runtime.sighandler,
// and stopped in os/signal.process once its loop has taken the signal.
describe.each(["go1.26.8", "go1.27.3"])("runtime state captured on %s", (go) => {
  const records = parse(`signotify-${go}.log`);
  const readings = splitSnapshots(records).map(readGoRuntime);

  it("has three complete snapshots", () => {
    expect(readings.map((r) => r.kind)).toEqual(["read", "read", "read"]);
    for (const r of readings) if (r.kind === "read") expect(r.problems).toEqual([]);
  });

  it("decodes runtime.sig and os/signal's subscriptions", () => {
    const [before] = readings;
    if (before?.kind !== "read") throw new Error("no reading");
    expect(before.sig).toEqual({ mask: [], wanted: ["SIGUSR1", "SIGTERM"], ignored: [], recv: [], state: "receiving", delivering: 0, inuse: true });
    expect(before.handlers).toEqual({ SIGUSR1: 1, SIGTERM: 1 });
  });

  it("puts the handling thread on its gsignal stack and the others on g0 or a goroutine stack", () => {
    const [before, inHandler, after] = readings.map((r) => (r.kind === "read" ? r.threads : []));
    expect(before!.find((t) => t.thread === 1)!.on).toBe("g0");
    expect(inHandler!.find((t) => t.thread === 1)!.on).toBe("gsignal");
    for (const t of [...before!, ...inHandler!, ...after!]) {
      expect(t.procid).toBe(t.lwp);
      expect(t.on).not.toBe("none");
      // On g0 and gsignal the current g is that g: goid 0.
      expect(t.goid === 0).toBe(t.on !== "goroutine");
    }
  });

  it("sees SIGUSR1 queued in sig.mask after runtime.sigsend, and the receiver woken", () => {
    // The read after `finish` of runtime.sigsend, with only the handling thread running.
    const at = (command: string) => records.findIndex((r) => r.kind === "command" && r.command === command);
    const queued = readGoRuntime(records.slice(at("finish"), at("set scheduler-locking off")));
    if (queued.kind !== "read") throw new Error("no reading");
    expect(queued.sig).toMatchObject({ mask: ["SIGUSR1"], recv: [], state: "idle" });
    const after = readings[2];
    if (after?.kind !== "read") throw new Error("no reading");
    expect(after.sig).toMatchObject({ mask: [], recv: [] });
  });
});

describe("readGoRuntime", () => {
  it.each(["go1.26.8", "go1.27.3"])("reads a namespace PID 1 (%s): procid counts in the container's PID namespace, lwp on the host", (go) => {
    const [snap] = splitSnapshots(parse(`namespace-pid1-${go}.log`));
    const reading = readGoRuntime(snap!);
    if (reading.kind !== "read") throw new Error(reading.reason);
    expect(reading.sig?.wanted).toEqual(["SIGUSR1", "SIGTERM"]);
    const main = reading.threads.find((t) => t.thread === 1)!;
    expect(main.procid).toBe(1);
    expect(main.lwp).toBeGreaterThan(1);
    expect(main.on).toBe("g0");
  });

  it.each(["go1.26.8", "go1.27.3"])("says there is no DWARF for a binary linked with -s -w (%s)", (go) => {
    expect(readGoRuntime(parse(`signotify-stripped-${go}.log`))).toEqual({ kind: "no-dwarf", reason: NO_DWARF });
  });

  it("ignores what gdb prints from the executable file after the target died", () => {
    const reading = readGoRuntime(parse("signotify-killed-go1.27.3.log"));
    expect(reading).toMatchObject({ kind: "read", sig: null, threads: [] });
    if (reading.kind === "read") expect(reading.problems.join()).toMatch(/target exited/);
  });

  it("reads pasted gdb -batch output, whose values carry no command", () => {
    const reading = readGoRuntime(parse("pasted-batch-go1.27.3.txt"));
    expect(reading).toMatchObject({ kind: "read", sig: { wanted: ["SIGUSR1", "SIGTERM"] }, handlers: { SIGUSR1: 1, SIGTERM: 1 } });
  });
});
