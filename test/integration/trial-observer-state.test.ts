// What an observer keeps from one trial of a run to the next (the kernel observer's resting
// tracefs instances and, under Docker, its uprobes) serves the next trial that attaches it,
// and is gone before a trial that does not: the sweep compares observer sets (the observer
// effect), and a trial without the kernel observer must run without its events enabled or
// its uprobes registered. Real trials through runTrial, on both runtimes. A missing
// prerequisite skips on a laptop and fails under CI=true.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import sigtermRace from "../../scenarios/sigterm-race/index.js";
import { BundleWriter } from "../../src/bundle/write.js";
import { checkKernelObserver, kernelObserver } from "../../src/capture/kernel.js";
import type { ObserverName } from "../../src/capture/observer.js";
import { listOwnTracefs } from "../../src/capture/tracefs.js";
import type { Variant } from "../../src/evidence/schemas.js";
import { buildProbe } from "../../src/probe/build.js";
import { runCleanups } from "../../src/cleanup.js";
import { launchers } from "../../src/probe/launchers.js";
import { createRuntime } from "../../src/runtime/index.js";
import { forensicsTmp } from "../../src/runtime/run-dir.js";
import type { RuntimeKind } from "../../src/runtime/runtime.js";
import { ContainerPipeline } from "../../src/scenario/container-pipeline.js";
import { probeTarget } from "../../src/scenario/target.js";
import { runTrial, startTrialContainer, type TrialContext } from "../../src/scenario/trial.js";
import { missingRuntime, skipReason } from "../support/prereq.js";

describe.each<RuntimeKind>(["namespace", "docker"])("what the kernel observer keeps between a run's trials (%s runtime)", async (kind) => {
  const runtime = createRuntime(kind, launchers);
  const unavailable = skipReason((await missingRuntime(runtime)) ?? (await checkKernelObserver().then(() => null, (err: Error) => err.message)));
  let scratch = "";
  const runIds: string[] = [];

  describe.skipIf(unavailable !== null)(unavailable ?? "available", () => {
    beforeAll(async () => {
      scratch = await mkdtemp(join(tmpdir(), "forensics-observer-state-"));
    });

    afterAll(async () => {
      await kernelObserver.release?.();
      await runCleanups();
      for (const id of runIds) await rm(join(forensicsTmp(), id), { recursive: true, force: true });
      if (scratch) await rm(scratch, { recursive: true, force: true });
    });

    it("serves the next kernel trial, and is gone before the gate of a trial without it opens", async () => {
      const [gate, driver, probe] = await Promise.all([buildProbe("gate"), buildProbe("driver"), buildProbe("sigterm")]);
      const variant: Variant = { runtime: kind, init: "none", go: probe.goVersion };
      const bundle = await BundleWriter.create(join(scratch, "out"), "observer-state", {}, [variant]);
      runIds.push(bundle.runId);
      const target = probeTarget(probe.path);
      // What of ours is in tracefs at the moment each gate opens.
      const atRelease: Awaited<ReturnType<typeof listOwnTracefs>>[] = [];
      const scenario = { ...sigtermRace, beforeRelease: async () => void atRelease.push(await listOwnTracefs()) };
      const containers = new ContainerPipeline((id) => startTrialContainer(runtime, bundle.runId, gate.path, target, scenario, variant, id));
      const ctx: TrialContext = { runId: bundle.runId, bundle, binaries: { gate: gate.path, driver: driver.path }, scenario, target, containers, programShared: runtime.sharesImageFiles, afterSends: () => {} };
      const trial = (id: string, observers: ObserverName[]) => runTrial(ctx, variant, id, { offsetUs: 300_000, observers, intent: "test" });
      try {
        await trial("t001", ["kernel"]);
        const rested = await listOwnTracefs();
        await trial("t002", ["kernel"]);
        await trial("t003", []);
        const after = await listOwnTracefs();

        // Between the kernel trials: the resting pair, and under Docker the run's uprobes.
        expect(rested.instances).toHaveLength(2);
        if (runtime.sharesImageFiles) expect(rested.uprobes.length).toBeGreaterThanOrEqual(5);
        else expect(rested.uprobes).toEqual([]);
        // t002's gate opened with its own pair and uprobes only, which were t001's.
        expect(atRelease[1]!.instances.sort()).toEqual([...rested.instances].sort());
        // t003 (no observer): nothing of the kernel observer's left when its gate opened.
        expect(atRelease[2]).toEqual({ instances: [], uprobes: [] });
        expect(after).toEqual({ instances: [], uprobes: [] });
      } finally {
        await containers.close();
      }
    });
  });
});
