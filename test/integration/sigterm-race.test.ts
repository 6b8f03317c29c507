import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import sigtermRace from "../../scenarios/sigterm-race/index.js";
import { loadRawTrials } from "../../src/evidence/load.js";
import { loadBundle, readBundle } from "../../src/bundle/read.js";
import { analyseRaceTrial, type RaceTrial } from "../../scenarios/sigterm-race/analysis.js";
import { runCleanups } from "../../src/cleanup.js";
import { runScenario, type RunResult } from "../../src/scenario/run.js";
import { launchers } from "../../src/probe/launchers.js";
import { createRuntime } from "../../src/runtime/index.js";
import type { RuntimeKind } from "../../src/runtime/runtime.js";
import { missingRuntime, missingTool, skipReason, skipUnlessCI } from "../support/prereq.js";
import { expectNothingLeft } from "../support/leftovers.js";

// The scenario for real: real containers, strace, Go probe, driver. Nothing here states
// what a verdict must be; it checks that each trial's outcome follows from what the
// trial recorded, that every phase was hit, and that the bundle says the same as the live run.

describe.each<RuntimeKind>(["namespace", "docker"])("sigterm-race on the %s runtime", async (runtime) => {
  const missing = skipReason((await missingRuntime(createRuntime(runtime, launchers))) ?? (await missingTool("strace")));
  describe.skipIf(missing !== null)(missing ?? "available", () => {
    let out: string;
    let result: RunResult;
    let trials: RaceTrial[];

    beforeAll(async () => {
      out = await mkdtemp(join(tmpdir(), "forensics-it-"));
      result = await runScenario({
        scenario: sigtermRace,
        runtime,
        inits: ["none", "tini", "dumb-init"],
        go: [undefined],
        sweep: { trials: 1, observerSets: [[], ["kernel"], ["strace"]], options: {} },
        outDir: out,
      });
      trials = result.trials.map(analyseRaceTrial);
    }, 300_000);

    afterAll(async () => {
      await runCleanups();
      await rm(out, { recursive: true, force: true });
    });

    it("hits all three phases for every init and observer set", () => {
      for (const init of ["none", "tini", "dumb-init"]) {
        for (const set of ["none", "kernel", "strace"]) {
          const phases = new Set(trials.filter((t) => t.observers === set && result.trials.find((e) => e.id === t.trial)!.variant.init === init).map((t) => t.phase));
          expect([...phases].sort(), `${init} observed by ${set}`).toEqual(expect.arrayContaining(["after-notify", "before-handler", "before-notify"]));
        }
      }
    });

    it("has the kernel's word on every SIGTERM it watched: ignored for each lost one, delivered for the others", () => {
      const watched = trials.filter((t) => t.observers === "kernel");
      expect(watched.length).toBeGreaterThanOrEqual(12);
      for (const t of watched) {
        // A lost signal ends the trial at once, sometimes before the program got to its handler.
        if (t.handlerUs !== null) expect(t.handlerSource, t.trial).toBe("kernel");
        expect(t.refs.fate, t.trial).not.toBeNull();
        if (t.outcome !== "lost") expect(t.signalFate, t.trial).toBe("delivered");
        // Lost where the kernel dropped it, or in PID 1's own handler that never forwarded it
        // (an init's do-nothing handler before its wait loop): the kernel shows which.
        if (t.outcome === "lost") expect(t.lostBy, t.trial).not.toBeNull();
        if (t.lostBy === "kernel") expect(t.signalFate, t.trial).toBe("ignored");
        if (t.lostBy !== null && t.lostBy !== "kernel") expect(t.refs.lost, t.trial).not.toBeNull();
        if (t.lostBy !== null && t.lostBy !== "kernel") expect(t.signalFate, t.trial).toBe("delivered");
        if (t.lostBy !== null && t.lostBy !== "kernel") expect(result.trials.find((e) => e.id === t.trial)!.variant.init, t.trial).not.toBe("none");
      }
      for (const t of trials.filter((t) => !t.observers.includes("kernel"))) expect(t.signalFate).toBeNull();
    });

    it("gets the program's own exit after Notify and the init's or runtime's default before it", () => {
      for (const t of trials) {
        const init = result.trials.find((e) => e.id === t.trial)!.variant.init;
        if (t.phase === "after-notify") expect([t.outcome, t.exitCode], t.trial).toEqual(["handled", 0]);
        if (t.outcome === "lost") expect(t.exitCode, t.trial).toBe(137);
        if (t.phase === "before-notify") {
          expect(t.outcome, t.trial).toBe("runtime-default");
          // Go's dieFromSignal as PID 1 falls back to exit(2); an init reports its child's SIGTERM death as 128+15.
          expect(t.exitCode, t.trial).toBe(init === "none" ? 2 : 143);
          if (t.strace) expect(t.probeEnd?.kind, t.trial).toBe(init === "none" ? "exited" : "killed");
        }
      }
    });

    it("writes a complete bundle whose raw captures rebuild the same evidence and findings", async () => {
      const bundle = await readBundle(result.bundle);
      expect(bundle.manifest.status).toBe("complete");
      expect(bundle.manifest.runId).toBe(basename(result.bundle));
      expect(loadBundle(bundle).trials).toEqual(result.trials);
      const rebuilt = await loadRawTrials(result.bundle);
      expect(rebuilt).toEqual(result.trials);
      const findings = result.variants.flatMap((v) => sigtermRace.analyse(v, rebuilt.filter((t) => t.variant.init === v.init)));
      expect(findings).toEqual(bundle.findings.findings);
      expect(JSON.parse(await readFile(join(result.bundle, "findings.json"), "utf8")).findings).toHaveLength(9);
    });

    it("leaves nothing behind", async () => {
      await expectNothingLeft({ runIds: [basename(result.bundle)], docker: runtime === "docker" });
    });
  });
});

describe("sigterm-race with another Go toolchain (--go)", () => {
  it("builds the probe with GOTOOLCHAIN and records what that runtime did", async (ctx) => {
    skipUnlessCI(ctx, (await missingRuntime(createRuntime("namespace", launchers))) ?? (await missingTool("strace")));
    const out = await mkdtemp(join(tmpdir(), "forensics-it-go-"));
    try {
      const result = await runScenario({
        scenario: sigtermRace,
        runtime: "namespace",
        inits: ["none"],
        go: ["1.27.3"],
        sweep: { trials: 1, observerSets: [["strace"]], options: {} },
        outDir: out,
      });
      expect(result.variants).toEqual([{ runtime: "namespace", init: "none", go: "go1.27.3" }]);
      // The probe reports runtime.Version() itself: proof the toolchain really changed.
      const started = result.trials.flatMap((t) => t.records.probe.filter((r) => r.kind === "probe" && r.ev === "start"));
      expect(started.length).toBeGreaterThan(0);
      for (const r of started) expect(r.kind === "probe" && r.fields.go).toBe("go1.27.3");
      const s7 = result.findings.find((f) => f.claim === "S7")!;
      expect(s7.variant.go).toBe("go1.27.3");
      expect(s7.verdict).not.toBe("inconclusive");
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 300_000);
});
