// sigterm-race's reading of the kernel observer's records, on real captures the kernel
// observer made (test/fixtures/kernel: the probe as PID 1, SIGTERM before Go's handler,
// between the handler and Notify, after Notify).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readKernelRace } from "../../scenarios/sigterm-race/kernel-view.js";
import { KERNEL_RAW, kernelObserver } from "../../src/capture/kernel.js";
import { firstKillFate } from "../../src/evidence/kernel-signals.js";
import { rootPidsOf } from "../../src/parse/kernel-tree.js";

const FIXTURES = join(import.meta.dirname, "../fixtures/kernel");
const load = (capture: string) =>
  kernelObserver.parse(Object.fromEntries(Object.values(KERNEL_RAW).map((f) => [f, readFileSync(join(FIXTURES, capture, f), "utf8")])));

describe.each([
  ["namespace-pid1-before-handler", "ignored", true],
  ["namespace-pid1-before-notify", "delivered", false],
  ["namespace-pid1-after-notify", "delivered", true],
  ["docker-pid1-after-notify", "delivered", true],
] as const)("%s", (capture, fate, notified) => {
  const records = load(capture);
  const pid1 = rootPidsOf(records)[0]!;
  const race = readKernelRace(records, "/probe");

  it("finds the probe's exec and, when the program got that far, Go's SIGTERM handler install after it", () => {
    expect(race.exec?.pid).toBe(pid1);
    if (race.handler) {
      expect(race.handler.index).toBeGreaterThan(race.exec!.index);
      expect(race.handler.doneUs).toBeGreaterThanOrEqual(race.handler.startUs);
      const install = records[race.handler.index]!;
      expect(install.kind === "syscall-enter" && install.syscall === "rt_sigaction" && Number(install.args.sig)).toBe(15);
    }
  });

  it(`says the driver's SIGTERM was ${fate}`, () => {
    expect(firstKillFate(records, 15, pid1)?.result).toBe(fate);
  });

  it(notified ? "sees Notify through its uprobe, after the handler (a lost SIGTERM leaves the program to get there)" : "sees no Notify: the signal ended the program before it", () => {
    expect(race.notify !== null).toBe(notified);
    if (race.notify && race.handler) expect(race.notify.us).toBeGreaterThan(race.handler.doneUs);
  });
});

/** The one trial of a fixture under test/fixtures/sigterm-race, and the analysis to read it with. */
async function fixtureTrial(name: string) {
  const { loadRawTrials } = await import("../../src/evidence/load.js");
  const { analyseRaceTrial } = await import("../../scenarios/sigterm-race/analysis.js");
  const [trial] = await loadRawTrials(join(import.meta.dirname, "../fixtures/sigterm-race", name));
  return { trial, analyseRaceTrial };
}

describe("a lost SIGTERM under dumb-init, recorded by the kernel observer (test/fixtures/sigterm-race/kernel-dumb-init)", async () => {
  const { trial, analyseRaceTrial } = await fixtureTrial("kernel-dumb-init");

  it("was delivered to dumb-init, forwarded to its child before the child exec'd the probe, and kept by the handler the child inherited", () => {
    const t = analyseRaceTrial(trial!);
    expect([t.outcome, t.signalFate, t.lostBy]).toEqual(["lost", "delivered", "child-before-exec"]);
    expect(trial!.origin.source).toBe("kernel");
  });
});

describe("a SIGTERM dumb-init took but could not pass on, recorded by the kernel observer (test/fixtures/sigterm-race/kernel-dumb-init-esrch)", async () => {
  const { trial, analyseRaceTrial } = await fixtureTrial("kernel-dumb-init-esrch");

  it("was delivered to dumb-init, whose kill(-child, SIGTERM) came before the child had its process group: ESRCH, no signal, lost", () => {
    const t = analyseRaceTrial(trial!);
    expect([t.outcome, t.signalFate, t.lostBy, t.forwardErrno, t.exitCode]).toEqual(["lost", "delivered", "forward-failed", "ESRCH", 137]);
    const kernel = trial!.records.kernel!;
    const failed = kernel[t.refs.lost!.index]!;
    expect(failed.kind === "syscall-exit" && [failed.syscall, failed.ret]).toEqual(["kill", "0xfffffffffffffffd"]);
    // The forward went to a process group: a negative pid, before the child's exec of the probe.
    const call = kernel.find((r) => r.kind === "syscall-enter" && r.syscall === "kill");
    expect(call?.kind === "syscall-enter" && (Number(call.args.pid) | 0) < 0).toBe(true);
    const exec = kernel.find((r) => r.kind === "exec" && r.filename === "/probe");
    expect(exec!.tsUs!).toBeGreaterThan(failed.tsUs!);
  });
});
