// signal-backlog against a user's own program, which reports no receives: a Go program
// that reads its Notify channel for ever (go-probes/testhelpers/sigreader), with symbols
// and stripped, and a static C program without any handler, each as --binary on the
// namespace runtime. Signals are followed as far as the records go (os/signal with Go's
// symbols, the kernel's delivery otherwise), and each verdict says what it could not see.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import signalBacklog from "../../scenarios/signal-backlog/index.js";
import { analyseBacklogTrial, type BacklogTrial } from "../../scenarios/signal-backlog/accounting.js";
import { resolveTool } from "../../src/capture/tools.js";
import { runCleanups } from "../../src/cleanup.js";
import { buildProbe } from "../../src/probe/build.js";
import { launchers } from "../../src/probe/launchers.js";
import { createRuntime } from "../../src/runtime/index.js";
import type { ObserverName } from "../../src/capture/observer.js";
import { buildConfiguredImage } from "../../src/runtime/docker-image.js";
import { resolveImage } from "../../src/runtime/image.js";
import { runScenario, type RunResult } from "../../src/scenario/run.js";
import { expectNothingLeft } from "../support/leftovers.js";
import { missingKernelObserver, missingRuntime, skipReason } from "../support/prereq.js";
import { buildStaticC, stripProgram } from "../support/programs.js";

const out = await mkdtemp(join(tmpdir(), "forensics-targets-backlog-"));
afterAll(async () => {
  await runCleanups();
  await rm(out, { recursive: true, force: true });
});

const missingKernel = await missingKernelObserver();
const missingGdb = await resolveTool("gdb").then(
  () => null,
  () => "gdb on PATH",
);

const run = (path: string, observers: ObserverName[]) =>
  runScenario({
    scenario: signalBacklog,
    runtime: "namespace",
    inits: ["none"],
    go: [undefined],
    target: { kind: "binary", path, args: [] },
    sweep: { trials: 1, observerSets: [observers], options: { loads: [{ signal: "SIGTERM", load: 1000 }], count: 100 } },
    outDir: out,
  });

/** The loss splits into its buckets exactly. */
const expectTelescoped = (t: BacklogTrial) => {
  const a = t.accounting!;
  expect(a.lost, t.trial).toBe(t.counts.sent - a.reached);
  expect(a.coalescedInit + a.notGenerated + a.coalescedKernel + a.otherResults + a.coalescedRuntime + a.dropped + a.unaccounted, t.trial).toBe(a.lost);
};

const finding = (result: RunResult, claim: string) => result.findings.find((f) => f.claim === claim)!;

describe("signal-backlog --binary (namespace runtime)", async () => {
  const missing = skipReason((await missingRuntime(createRuntime("namespace", launchers))) ?? missingKernel ?? missingGdb);
  describe.skipIf(missing !== null)(missing ?? "available", () => {
    let reader: string;
    beforeAll(async () => {
      reader = (await buildProbe("testhelpers/sigreader")).path;
    });

    it("a Go program with symbols: Notify from its uprobe, every signal followed to os/signal, gdb reads 'runtime.sig'", async () => {
      const result = await run(reader, ["kernel", "gdb"]);
      expect(result.variants).toHaveLength(1);
      expect(Object.keys(result.variants[0]!).sort()).toEqual(["go", "init", "runtime"]);
      const trials = result.trials.map(analyseBacklogTrial).filter((t) => !t.early);
      expect(trials).toHaveLength(1);
      const t = trials[0]!;
      expect([t.userTarget, t.view, t.unseen, t.accounting?.upTo]).toEqual([true, "os-signal", null, "os-signal"]);
      expect(t.refs.notify?.source).toBe("kernel");
      expect(t.counts.sent).toBe(100);
      expect(t.counts.processCalls).toBeGreaterThan(0);
      expect(t.counts.sigsendCalls).toBeGreaterThanOrEqual(t.counts.processCalls);
      expect([t.accounting!.reached, t.accounting!.dropped]).toEqual([t.counts.processCalls, 0]);
      expectTelescoped(t);
      expect(t.checkpoint?.read).toBe(true);
      expect(t.checkpoint?.wanted).toEqual(expect.arrayContaining(["SIGTERM", "SIGUSR1"]));
      // The harness ends a user's program with SIGKILL once the checkpoint is done.
      expect(t.exitCode).toBe(137);
      const s3 = finding(result, "S3");
      if (t.accounting!.lost > 0) expect(s3.verdict).toBe("refuted");
      else expect(s3).toMatchObject({ verdict: "inconclusive", summary: expect.stringMatching(/no record shows/) });
      expect(finding(result, "S4").verdict).toBe("refuted");
      await expectNothingLeft({ runIds: [basename(result.bundle)], docker: false });
    }, 120_000);

    it("the same program stripped: no runtime view; the kernel's part is counted, S3, S4, S8 inconclusive with the reason", async () => {
      const result = await run(await stripProgram(reader, "sigreader"), ["kernel", "gdb"]);
      const [t] = result.trials.map(analyseBacklogTrial);
      expect([t!.view, t!.early, t!.accounting?.upTo]).toEqual(["kernel", false, "kernel"]);
      expect(t!.unseen).toMatch(/no runtime view \(no uprobes: .* has no symbol table/);
      expect([t!.counts.sigsendCalls, t!.counts.processCalls]).toEqual([0, 0]);
      expect(t!.accounting!.reached).toBe(t!.counts.queued);
      expectTelescoped(t!);
      expect(finding(result, "S3")).toMatchObject({ verdict: "inconclusive", summary: expect.stringMatching(/^no runtime view/) });
      expect(finding(result, "S4")).toMatchObject({ verdict: "inconclusive", summary: expect.stringMatching(/gdb read no runtime state/) });
      expect(finding(result, "S8")).toMatchObject({ verdict: "inconclusive", summary: expect.stringMatching(/^no runtime view/) });
    }, 120_000);

    it("a static C program without a handler as PID 1: the kernel ignores every SIGTERM; not Go, so nothing to judge", async () => {
      const result = await run(await buildStaticC("nohandler"), ["kernel"]);
      expect(result.variants[0]!.go).toBe("not-go");
      const [t] = result.trials.map(analyseBacklogTrial);
      expect(t!.unseen).toMatch(/^not a Go program/);
      // SIGNAL_UNKILLABLE with SIG_DFL: every kill is generated and ignored, none queued.
      expect([t!.counts.generated, t!.counts.otherResults, t!.counts.queued]).toEqual([100, 100, 0]);
      expectTelescoped(t!);
      for (const claim of ["S3", "S8"]) expect(finding(result, claim)).toMatchObject({ verdict: "inconclusive", summary: expect.stringMatching(/^not a Go program/) });
    }, 120_000);

    it("an axis of the probe is refused with a target", async () => {
      await expect(
        runScenario({
          scenario: signalBacklog,
          runtime: "namespace",
          inits: ["none"],
          go: [undefined],
          target: { kind: "binary", path: reader, args: [] },
          axes: { cap: ["1"] },
          sweep: { trials: 1, observerSets: [["kernel"]], options: {} },
          outDir: out,
        }),
      ).rejects.toThrow(/--cap configures signal-backlog's own probe; a --binary target brings its own/);
    });
  });
});

describe("signal-backlog --image (docker runtime)", async () => {
  const missing = skipReason((await missingRuntime(createRuntime("docker", launchers))) ?? missingKernel);
  describe.skipIf(missing !== null)(missing ?? "available", () => {
    const docker = new Docker();
    const tag = `forensics-test/nohandler:${process.pid}`;
    afterAll(async () => {
      await docker.getImage(tag).remove({ force: true }).catch(() => {});
    });

    it("a static C program's image: its build info says not Go; as PID 1 with SIG_DFL the kernel ignores every SIGTERM", async () => {
      const image = await resolveImage({ files: [{ hostPath: await buildStaticC("nohandler"), path: "/usr/bin/nohandler" }] }, { requireGate: false });
      await buildConfiguredImage(docker, image, tag, { entrypoint: ["nohandler"], env: { PATH: "/usr/bin" } });
      const result = await runScenario({
        scenario: signalBacklog,
        runtime: "docker",
        inits: ["none"],
        go: [undefined],
        target: { kind: "image", image: tag, args: [] },
        sweep: { trials: 1, observerSets: [["kernel"]], options: { loads: [{ signal: "SIGTERM", load: 1000 }], count: 20 } },
        outDir: out,
      });
      expect(result.variants[0]!.go).toBe("not-go");
      const [t] = result.trials.map(analyseBacklogTrial);
      expect([t!.view, t!.counts.generated, t!.counts.otherResults]).toEqual(["kernel", 20, 20]);
      expect(finding(result, "S3")).toMatchObject({ verdict: "inconclusive", summary: expect.stringMatching(/^not a Go program/) });
      await expectNothingLeft({ runIds: [basename(result.bundle)], docker: true });
    }, 120_000);
  });
});
