import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import dockerStopTimeout from "../../scenarios/docker-stop-timeout/index.js";
import { analyseStopTrial, type StopTrial } from "../../scenarios/docker-stop-timeout/analysis.js";
import { classifyAgainstS5, TIMEOUT_TOLERANCE_MS } from "../../scenarios/docker-stop-timeout/claims.js";
import { runJson } from "../../src/cli/run-report.js";
import { loadRawTrials } from "../../src/evidence/load.js";
import { launchers } from "../../src/probe/launchers.js";
import { runCleanups } from "../../src/cleanup.js";
import { createRuntime } from "../../src/runtime/index.js";
import type { InitKind, RuntimeKind } from "../../src/runtime/runtime.js";
import { runScenario, type RunResult } from "../../src/scenario/run.js";
import { expectNothingLeft } from "../support/leftovers.js";
import { missingRoot, missingRuntime, skipReason } from "../support/prereq.js";

// docker stop for real, with a request in flight from the host: -t 1 is shorter than the
// 2 s the Shutdown waits for, -t 4 longer. The assertions tie exit codes, the kernel's
// SIGTERM → SIGKILL interval, the probe's shutdown events and the client's end together.

const INITS: Record<RuntimeKind, InitKind[]> = { namespace: ["none", "tini"], docker: ["none", "docker-init"] };

describe.each<RuntimeKind>(["namespace", "docker"])("docker-stop-timeout on the %s runtime", async (runtime) => {
  const missing = skipReason(missingRoot() ?? (await missingRuntime(createRuntime(runtime, launchers))));
  describe.skipIf(missing !== null)(missing ?? "available", () => {
    let out: string;
    let result: RunResult;
    let trials: StopTrial[];

    beforeAll(async () => {
      out = await mkdtemp(join(tmpdir(), "forensics-it-stop-"));
      result = await runScenario({
        scenario: dockerStopTimeout,
        runtime,
        inits: INITS[runtime],
        go: [undefined],
        sweep: { trials: 1, observerSets: [["kernel"]], options: { stopTimeouts: [1, 4], handlerMs: 2_000 } },
        outDir: out,
      });
      trials = result.trials.map(analyseStopTrial);
    }, 180_000);

    afterAll(async () => {
      await runCleanups();
      await rm(out, { recursive: true, force: true });
    });

    it("sees SIGTERM from the kernel in every trial and the probe begin its Shutdown with the request in flight", () => {
      expect(trials).toHaveLength(4);
      for (const t of trials) {
        expect(t.timing, t.trial).toBe("kernel");
        expect(t.refs.requestBegin, t.trial).not.toBeNull();
        expect(t.shutdownBegin, t.trial).toBe(true);
        expect(t.sigtermDeliveredTo.length, t.trial).toBeGreaterThan(0);
      }
    });

    it("ties each end together: SIGKILL ⇔ exit 137 ⇔ no shutdown-end ⇔ a reset client; otherwise exit 0 and a response", () => {
      for (const t of trials) {
        if (t.sigkillUs !== null) {
          expect([t.exitCode, t.shutdownEnd, t.client?.outcome], t.trial).toEqual([137, false, "reset"]);
          expect(t.sigkillDeliveredTo.length, t.trial).toBeGreaterThan(0);
          expect(Math.abs(t.sigtermToSigkillMs! - t.stopTimeoutS * 1000), t.trial).toBeLessThanOrEqual(TIMEOUT_TOLERANCE_MS);
        } else {
          expect([t.exitCode, t.shutdownEnd, t.client?.outcome, t.client?.status], t.trial).toEqual([0, true, "response", 200]);
          expect(t.shutdownMs!, t.trial).toBeLessThan(t.stopTimeoutS * 1000);
        }
        // The grace period decides: killed exactly when -t is shorter than what Shutdown still needed.
        expect(t.sigkillUs !== null, t.trial).toBe(t.stopTimeoutS * 1000 < t.shutdownNeededMs!);
      }
    });

    it("states S5 from the trials' classification", () => {
      for (const variant of result.variants) {
        const mine = trials.filter((t) => result.trials.find((e) => e.id === t.trial)!.variant.init === variant.init);
        const f = result.findings.find((x) => x.variant.init === variant.init)!;
        const cls = mine.map(classifyAgainstS5);
        expect(f.verdict).toBe(cls.includes("contradicts") ? "refuted" : cls.includes("kill-at-timeout") ? "confirmed" : "inconclusive");
        expect(f.evidence.some((r) => r.source === "kernel")).toBe(true);
      }
    });

    it("carries the contract's measured names in run --json, and the bundle rebuilds the same trials", async () => {
      const doc = runJson(dockerStopTimeout, result.bundle, result.trials, result.findings) as { trials: { measured: Record<string, unknown> }[] };
      for (const t of doc.trials) expect(Object.keys(t.measured)).toEqual(expect.arrayContaining(["sigtermToSigkillMs", "stopTimeoutS", "shutdownMs"]));
      expect(await loadRawTrials(result.bundle)).toEqual(result.trials);
    });

    it("leaves nothing behind", async () => {
      await expectNothingLeft({ runIds: [basename(result.bundle)], docker: runtime === "docker" });
    });
  });
});
