// A trial whose program cannot start: runTrial with a real runtime, the real gate and
// driver, and a bogus probe (or gate). No CLI flag reaches this, so it is tested here. The
// trial must fail as a harness fault (TRIAL_FAILED) with one line carrying the exec error,
// and leave nothing running. A missing runtime skips on a laptop and fails under CI=true.

import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import sigtermRace from "../../scenarios/sigterm-race/index.js";
import { BundleWriter } from "../../src/bundle/write.js";
import { HarnessError } from "../../src/errors.js";
import type { Variant } from "../../src/evidence/schemas.js";
import { buildProbe, type BuiltProbe } from "../../src/probe/build.js";
import { runCleanups } from "../../src/cleanup.js";
import { launchers } from "../../src/probe/launchers.js";
import { createRuntime } from "../../src/runtime/index.js";
import { forensicsTmp } from "../../src/runtime/run-dir.js";
import type { RuntimeKind } from "../../src/runtime/runtime.js";
import { ContainerPipeline } from "../../src/scenario/container-pipeline.js";
import { probeTarget } from "../../src/scenario/target.js";
import { runTrial, startTrialContainer, type TrialContext } from "../../src/scenario/trial.js";
import { expectNothingLeft } from "../support/leftovers.js";
import { missingRuntime, skipReason } from "../support/prereq.js";


describe.each<RuntimeKind>(["namespace", "docker"])("a trial that cannot exec its program (%s runtime)", async (kind) => {
  const runtime = createRuntime(kind, launchers);
  const unavailable = skipReason(await missingRuntime(runtime));
  let scratch: string;
  let gate: BuiltProbe;
  let driver: BuiltProbe;
  /** A text file: execve says ENOEXEC ("exec format error") with +x, EACCES without. */
  let notElf: string;
  let notExecutable: string;
  const runIds: string[] = [];

  const failTrial = async (binaries: { gate: string; probe: string }, strace: boolean): Promise<HarnessError> => {
    const variant: Variant = { runtime: kind, init: "none", go: gate.goVersion };
    const bundle = await BundleWriter.create(join(scratch, "out"), "trial-faults", {}, [variant]);
    runIds.push(bundle.runId);
    const target = probeTarget(binaries.probe);
    const containers = new ContainerPipeline((id) => startTrialContainer(runtime, bundle.runId, binaries.gate, target, sigtermRace, variant, id));
    const ctx: TrialContext = { runId: bundle.runId, bundle, binaries: { gate: binaries.gate, driver: driver.path }, scenario: sigtermRace, target, containers, programShared: runtime.sharesImageFiles, afterSends: () => {} };
    const started = Date.now();
    const err = await runTrial(ctx, variant, "t001", { offsetUs: 0, observers: strace ? ["strace"] : [], intent: "test" }).then(
      () => null,
      (e: unknown) => e,
    );
    await containers.close();
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(err).toBeInstanceOf(HarnessError);
    const fault = err as HarnessError;
    expect(fault.code, fault.message).toBe("TRIAL_FAILED");
    expect(fault.message).not.toMatch(/\n/);
    // No process, container, tracer or trial dir of the run survives the failed trial; the
    // run dir itself (with its owner file) goes when this process exits.
    await expectNothingLeft({ pid: process.pid, runIds: [bundle.runId], docker: kind === "docker" });
    return fault;
  };

  describe.skipIf(unavailable !== null)(unavailable ?? "available", () => {
    beforeAll(async () => {
      scratch = await mkdtemp(join(tmpdir(), "forensics-trial-faults-"));
      [gate, driver] = await Promise.all([buildProbe("gate"), buildProbe("driver")]);
      notElf = join(scratch, "not-elf");
      await writeFile(notElf, "this is not a program\n");
      await chmod(notElf, 0o755);
      notExecutable = join(scratch, "not-executable");
      await writeFile(notExecutable, "this is not a program\n");
      await chmod(notExecutable, 0o644);
    });

    afterAll(async () => {
      await runCleanups();
      for (const id of runIds) await rm(join(forensicsTmp(), id), { recursive: true, force: true });
      if (scratch) await rm(scratch, { recursive: true, force: true });
    });

    it("a probe that is not an executable format: the gate's exec error, strace attached", async () => {
      const fault = await failTrial({ gate: gate.path, probe: notElf }, true);
      expect(fault.message).toMatch(/^trial t001: gate: exec \/probe: exec format error/);
    });

    it("a probe without exec permission: the gate's exec error, no strace", async () => {
      const fault = await failTrial({ gate: gate.path, probe: notExecutable }, false);
      expect(fault.message).toMatch(/^trial t001: gate: exec \/probe: permission denied/);
    });

    it("a gate that cannot run: the container dies before the gate could be released", async () => {
      const fault = await failTrial({ gate: notElf, probe: gate.path }, true);
      expect(fault.message).toMatch(/exec format error/);
    });
  });
});
