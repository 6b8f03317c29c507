import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import signalBacklog from "../../scenarios/signal-backlog/index.js";
import { analyseBacklogTrial, type BacklogTrial } from "../../scenarios/signal-backlog/accounting.js";
import { resolveTool } from "../../src/capture/tools.js";
import { runJson } from "../../src/cli/run-report.js";
import { loadRawTrials } from "../../src/evidence/load.js";
import { launchers } from "../../src/probe/launchers.js";
import { runCleanups } from "../../src/cleanup.js";
import { createRuntime } from "../../src/runtime/index.js";
import type { RuntimeKind } from "../../src/runtime/runtime.js";
import { runScenario, type RunResult } from "../../src/scenario/run.js";
import { expectNothingLeft } from "../support/leftovers.js";
import { missingRoot, missingRuntime, missingTool, skipReason } from "../support/prereq.js";

// signal-backlog for real: kernel tracepoints and uprobes count every stage, gdb reads the
// runtime's queue after the sends. Nothing here states what the machine must measure; it
// checks that the counts are consistent stage by stage, that every lost signal is put in a
// bucket, and that verdicts follow from the counts.

const missingGdb = () => resolveTool("gdb").then(() => null, () => "gdb on PATH");
const CONTRACT = ["sent", "generated", "coalesced", "sigsendCalls", "received", "dropped"];

const PLANS: Record<RuntimeKind, { axes: Record<string, string[]>; loads?: unknown }> = {
  namespace: { axes: { cap: ["0", "64"], reader: ["fast", "none"] } },
  // The engine adds only start-up cost: one point of the matrix.
  docker: { axes: { cap: ["1"], reader: ["fast"] } },
};

describe.each<RuntimeKind>(["namespace", "docker"])("signal-backlog on the %s runtime", async (runtime) => {
  const missing = skipReason(missingRoot() ?? (await missingRuntime(createRuntime(runtime, launchers))) ?? (await missingGdb()));
  describe.skipIf(missing !== null)(missing ?? "available", () => {
    let out: string;
    let result: RunResult;
    let trials: BacklogTrial[];

    beforeAll(async () => {
      out = await mkdtemp(join(tmpdir(), "forensics-it-backlog-"));
      result = await runScenario({
        scenario: signalBacklog,
        runtime,
        inits: ["none"],
        go: [undefined],
        axes: PLANS[runtime].axes,
        sweep: { trials: 1, observerSets: [["kernel", "gdb"]], options: {} },
        outDir: out,
      });
      // Trials whose sends came before Notify (a slow start on a loaded host) were run again later; they judge nothing.
      trials = result.trials.map(analyseBacklogTrial).filter((t) => !t.early);
    }, 180_000);

    afterAll(async () => {
      await runCleanups();
      await rm(out, { recursive: true, force: true });
    });

    it("counts every stage, and the stages only ever shrink", () => {
      expect(trials.length).toBe(result.variants.length * 2);
      for (const t of trials) {
        const c = t.counts;
        expect(t.exitCode, t.trial).toBe(0);
        expect(c.sent, t.trial).toBe(200);
        expect(c.generated, t.trial).toBe(c.sent);
        expect(c.queued + c.coalesced + c.otherResults, t.trial).toBe(c.generated);
        expect(c.sigsendCalls, t.trial).toBeLessThanOrEqual(c.queued);
        expect(c.processCalls, t.trial).toBeLessThanOrEqual(c.sigsendCalls);
        expect(c.received + c.buffered, t.trial).toBeLessThanOrEqual(c.processCalls);
        expect(c.sighandlerCalls, t.trial).toBeGreaterThanOrEqual(c.sigsendCalls);
        // Notify returned before the first kill(2): the sends test the program, not its start-up.
        expect(t.firstSendAfterNotifyUs!, t.trial).toBeGreaterThan(0);
      }
    });

    it("puts every lost signal in one bucket, none unaccounted while the kernel lost no events", () => {
      for (const t of trials) {
        const a = t.accounting!;
        expect(a.lost, t.trial).toBe(t.counts.sent - t.counts.received - t.counts.buffered);
        expect(a.coalescedInit + a.notGenerated + a.coalescedKernel + a.otherResults + a.coalescedRuntime + a.dropped + a.unaccounted, t.trial).toBe(a.lost);
        for (const v of [a.coalescedKernel, a.coalescedRuntime, a.dropped]) expect(v, t.trial).toBeGreaterThanOrEqual(0);
        if (t.kernelLostEvents === 0) expect(a.unaccounted, t.trial).toBe(0);
      }
    });

    it("matches the channel: a program that never reads keeps at most cap signals, a capacity of 0 keeps none", () => {
      for (const t of trials.filter((x) => x.reader === "none")) {
        expect(t.counts.received, t.trial).toBe(0);
        expect(t.counts.buffered, t.trial).toBe(Math.min(Number(t.cap), t.counts.processCalls));
        expect(t.accounting!.dropped, t.trial).toBe(t.counts.processCalls - t.counts.buffered);
      }
      for (const t of trials.filter((x) => x.reader === "fast")) expect(t.windowUs!, t.trial).toBeGreaterThan(0);
    });

    it("reads the runtime's queue with gdb: wanted, handlers.ref, and the seed's symbol refused", () => {
      for (const t of trials) {
        expect(t.checkpoint?.read, `${t.trial} ${t.checkpoint?.problem}`).toBe(true);
        expect(t.checkpoint!.wanted).toEqual(expect.arrayContaining(["SIGUSR1", "SIGTERM"]));
        expect(t.checkpoint!.handlers).toMatchObject({ SIGUSR1: 1, SIGTERM: 1 });
        expect(t.checkpoint!.seedExpression?.refused).toBe(true);
        expect(t.checkpoint!.seedSymbol?.refused).toBe(true);
      }
    });

    it("states verdicts that follow from the counts", () => {
      for (const variant of result.variants) {
        const mine = trials.filter((t) => t.cap === variant.cap && t.reader === variant.reader);
        const s3 = result.findings.find((f) => f.claim === "S3" && f.variant.cap === variant.cap && f.variant.reader === variant.reader)!;
        const sigterm = mine.filter((t) => t.signal === "SIGTERM");
        expect(s3.verdict).toBe(sigterm.some((t) => t.counts.received + t.counts.buffered < t.counts.sent) ? "refuted" : "confirmed");
        expect(s3.evidence.length).toBeGreaterThan(0);
        const s4 = result.findings.find((f) => f.claim === "S4" && f.variant.cap === variant.cap && f.variant.reader === variant.reader)!;
        expect(s4.verdict).toBe("refuted");
        expect(s4.evidence.some((r) => r.source === "gdb")).toBe(true);
        const s8 = result.findings.find((f) => f.claim === "S8" && f.variant.cap === variant.cap && f.variant.reader === variant.reader)!;
        const unaccounted = mine.filter((t) => t.load !== "burst").reduce((n, t) => n + t.accounting!.unaccounted, 0);
        expect(s8.verdict).toBe(unaccounted > 0 ? "inconclusive" : "refuted");
      }
    });

    it("carries the contract's measured names in run --json, and the bundle rebuilds the same trials", async () => {
      const doc = runJson(signalBacklog, result.bundle, result.trials, result.findings) as { trials: { measured: Record<string, unknown> }[]; seed: unknown };
      for (const t of doc.trials) for (const name of CONTRACT) expect(typeof t.measured[name], name).toBe("number");
      expect(doc.seed).toMatchObject({ lossRate: 0.007 });
      expect(await loadRawTrials(result.bundle)).toEqual(result.trials);
    });

    it("leaves nothing behind", async () => {
      await expectNothingLeft({ runIds: [basename(result.bundle)], docker: runtime === "docker" });
    });
  });
});

describe("signal-backlog when gdb may not attach", async () => {
  const missing = skipReason(missingRoot() ?? (await missingRuntime(createRuntime("namespace", launchers))) ?? (await missingGdb()) ?? (await missingTool("strace")));
  describe.skipIf(missing !== null)(missing ?? "available", () => {
    let out: string;
    afterAll(async () => {
      await runCleanups();
      if (out) await rm(out, { recursive: true, force: true });
    });

    it("keeps the trial when strace already holds the program: S4 inconclusive, naming PTRACE_DENIED", async () => {
      out = await mkdtemp(join(tmpdir(), "forensics-it-backlog-denied-"));
      const result = await runScenario({
        scenario: signalBacklog,
        runtime: "namespace",
        inits: ["none"],
        go: [undefined],
        axes: { cap: ["1"], reader: ["fast"] },
        sweep: { trials: 1, observerSets: [["strace", "kernel", "gdb"]], options: { loads: [{ signal: "SIGUSR1", load: "burst" }], count: 20 } },
        outDir: out,
      });
      const t = analyseBacklogTrial(result.trials[0]!);
      expect(t.checkpoint?.read).toBe(false);
      expect(t.checkpoint?.problem).toMatch(/PTRACE_DENIED/);
      // The kernel's and the probe's counts stand without gdb.
      expect(t.exitCode).toBe(0);
      expect(t.counts.generated).toBe(20);
      expect(t.refs.counts).not.toBeNull();
      expect(result.findings.find((f) => f.claim === "S4")).toMatchObject({ verdict: "inconclusive", summary: expect.stringContaining("PTRACE_DENIED") });
      await expectNothingLeft({ runIds: [basename(result.bundle)] });
    });
  });
});

describe("signal-backlog with the window held open", async () => {
  const missing = skipReason(missingRoot() ?? (await missingRuntime(createRuntime("namespace", launchers))));
  describe.skipIf(missing !== null)(missing ?? "available", () => {
    let out: string;
    afterAll(async () => {
      await runCleanups();
      if (out) await rm(out, { recursive: true, force: true });
    });

    it("follows the signals sent between Notify and the first receive, and judges S8 from them", async () => {
      out = await mkdtemp(join(tmpdir(), "forensics-it-backlog-window-"));
      const result = await runScenario({
        scenario: signalBacklog,
        runtime: "namespace",
        inits: ["none"],
        go: [undefined],
        axes: { cap: ["1"], reader: ["fast"], window: ["held"] },
        sweep: { trials: 1, observerSets: [["kernel"]], options: { loads: [{ signal: "SIGTERM", load: 1000 }], count: 100 } },
        outDir: out,
      });
      const t = result.trials.map(analyseBacklogTrial).find((x) => !x.early)!;
      expect(t.windowUs!).toBeGreaterThanOrEqual(300_000);
      expect(t.window!.sent).toBeGreaterThan(0);
      expect(t.window!.ignored + t.window!.coalesced).toBeLessThanOrEqual(t.window!.sent);
      expect(t.window!.reachedOsSignal).toBeLessThanOrEqual(t.window!.sent);
      const s8 = result.findings.find((f) => f.claim === "S8")!;
      expect(s8.measurements).toMatchObject({ windowSent: t.window!.sent, windowIgnored: t.window!.ignored });
      if (t.window!.ignored > 0) expect(s8.verdict).toBe("confirmed");
      else expect(s8.verdict).not.toBe("confirmed");
      await expectNothingLeft({ runIds: [basename(result.bundle)] });
    });
  });
});
