// docker-stop-timeout against a user's own HTTP server (go-probes/testhelpers/httpserver,
// which prints nothing of the probe protocol): from a FROM-scratch image with its own
// entrypoint and cmd on the docker runtime, and as a stripped --binary on the namespace
// runtime. The port comes from the server's own sockets, its Shutdown from the kernel's
// uprobes; each trial is checked against what the server really does: with -graceful it
// Shutdowns (waiting for /slow, 2 s), without it SIGTERM meets Go's default action.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import dockerStopTimeout from "../../scenarios/docker-stop-timeout/index.js";
import { analyseStopTrial } from "../../scenarios/docker-stop-timeout/analysis.js";
import { classifyAgainstS5, TIMEOUT_TOLERANCE_MS } from "../../scenarios/docker-stop-timeout/claims.js";
import { runCleanups } from "../../src/cleanup.js";
import { buildProbe } from "../../src/probe/build.js";
import { launchers } from "../../src/probe/launchers.js";
import { buildConfiguredImage } from "../../src/runtime/docker-image.js";
import { resolveImage } from "../../src/runtime/image.js";
import { createRuntime } from "../../src/runtime/index.js";
import { runScenario, type RunOptions } from "../../src/scenario/run.js";
import { expectNothingLeft } from "../support/leftovers.js";
import { missingKernelObserver, missingRuntime, skipReason } from "../support/prereq.js";
import { stripProgram } from "../support/programs.js";

const out = await mkdtemp(join(tmpdir(), "forensics-targets-stop-"));
afterAll(async () => {
  await runCleanups();
  await rm(out, { recursive: true, force: true });
});

const missingKernel = await missingKernelObserver();

const run = (options: Pick<RunOptions, "runtime" | "target">, stopTimeouts: number[]) =>
  runScenario({
    scenario: dockerStopTimeout,
    inits: ["none"],
    go: [undefined],
    sweep: { trials: 1, observerSets: [["kernel"]], options: { stopTimeouts, path: "/slow" } },
    outDir: out,
    ...options,
  });

describe("docker-stop-timeout --image (docker runtime)", async () => {
  const missing = skipReason((await missingRuntime(createRuntime("docker", launchers))) ?? missingKernel);
  describe.skipIf(missing !== null)(missing ?? "available", () => {
    const docker = new Docker();
    const tag = `forensics-test/httpserver:${process.pid}`;
    beforeAll(async () => {
      const server = (await buildProbe("testhelpers/httpserver")).path;
      const image = await resolveImage({ files: [{ hostPath: server, path: "/app/server" }] }, { requireGate: false });
      await buildConfiguredImage(docker, image, tag, { entrypoint: ["/app/server"], cmd: ["-graceful"] });
    }, 120_000);
    afterAll(async () => {
      await docker.getImage(tag).remove({ force: true }).catch(() => {});
    });

    it("a graceful server: killed at -t 1 while its Shutdown (seen at os/signal.process) waits; at -t 4 it ends by itself; S5 confirmed", async () => {
      const result = await run({ runtime: "docker", target: { kind: "image", image: tag, args: [] } }, [1, 4]);
      // The Go release comes from the program's build info, read from the image's file.
      expect(result.variants[0]!.go).toMatch(/^go1\.\d+/);
      const [short, long] = result.trials.map(analyseStopTrial);
      for (const t of [short!, long!]) {
        expect([t.userTarget, t.timing, t.shutdownSource, t.sigtermTakenBy, t.shutdownBegin], t.trial).toEqual([true, "kernel", "kernel", "notify", true]);
        expect(t.refs.shutdownBegin?.source, t.trial).toBe("kernel");
      }
      expect([short!.outcome, short!.exitCode, short!.shutdownEnd, short!.client?.outcome]).toEqual(["killed", 137, false, "reset"]);
      expect(Math.abs(short!.sigtermToSigkillMs! - 1000)).toBeLessThanOrEqual(TIMEOUT_TOLERANCE_MS);
      expect([long!.outcome, long!.exitCode, long!.sigkillUs, long!.client?.outcome, long!.client?.status]).toEqual(["graceful", 0, null, "response", 200]);
      // Shutdown waited for /slow (2 s from the request, which began before the stop) and no longer than -t.
      expect(long!.shutdownMs!).toBeGreaterThan(0);
      expect(long!.shutdownMs!).toBeLessThan(4000);
      expect([short, long].map((t) => classifyAgainstS5(t!))).toEqual(["kill-at-timeout", "graceful-before-timeout"]);
      expect(result.findings[0]).toMatchObject({ claim: "S5", verdict: "confirmed" });
      await expectNothingLeft({ runIds: [basename(result.bundle)], docker: true });
    }, 120_000);

    it("shell-form entrypoints: busybox sh execs a lone command (the server takes SIGTERM itself); with a second command it forks, keeps SIGTERM, and the server is SIGKILLed with it", async () => {
      const server = (await buildProbe("testhelpers/httpserver")).path;
      const image = await resolveImage({ files: [{ hostPath: server, path: "/app/server" }, { hostPath: "/bin/busybox", path: "/bin/sh" }] }, { requireGate: false });
      const shells = { exec: `forensics-test/httpserver-sh-exec:${process.pid}`, fork: `forensics-test/httpserver-sh-fork:${process.pid}` };
      await buildConfiguredImage(docker, image, shells.exec, { entrypoint: ["/bin/sh", "-c", "/app/server -graceful"] });
      await buildConfiguredImage(docker, image, shells.fork, { entrypoint: ["/bin/sh", "-c", "/app/server -graceful; echo stopped"] });
      try {
        const exec = await run({ runtime: "docker", target: { kind: "image", image: shells.exec, args: [] } }, [1]);
        // The uprobes sit on the program the script starts, not on the shell.
        expect(exec.variants[0]!.go).toMatch(/^go1\.\d+/);
        const [e] = exec.trials.map(analyseStopTrial);
        expect([e!.pid1Shell, e!.sigtermTakenBy, e!.shutdownBegin, e!.outcome, e!.exitCode]).toEqual([true, "notify", true, "killed", 137]);
        expect(exec.findings[0]!.verdict).toBe("confirmed");
        expect(dockerStopTimeout.render.variantSummary(exec.variants[0]!, exec.trials).join("\n")).toMatch(/PID 1 is a shell/);

        const fork = await run({ runtime: "docker", target: { kind: "image", image: shells.fork, args: [] } }, [1]);
        const [f] = fork.trials.map(analyseStopTrial);
        expect([f!.pid1Shell, f!.shutdownBegin, f!.outcome, f!.exitCode, f!.client?.outcome]).toEqual([true, false, "killed", 137, "reset"]);
        expect(classifyAgainstS5(f!)).toBe("unknown");
        expect(fork.findings[0]).toMatchObject({ verdict: "inconclusive", summary: expect.stringMatching(/PID 1 is a shell .* did not pass SIGTERM on/) });
      } finally {
        for (const t of Object.values(shells)) await docker.getImage(t).remove({ force: true }).catch(() => {});
      }
    }, 120_000);

    it("a server without Notify (args after -- replace the cmd): SIGTERM meets Go's default action, nothing to wait for; S5 inconclusive, saying so", async () => {
      const result = await run({ runtime: "docker", target: { kind: "image", image: tag, args: ["-graceful=false"] } }, [4]);
      const [t] = result.trials.map(analyseStopTrial);
      expect([t!.sigtermTakenBy, t!.shutdownBegin, t!.sigkillUs, t!.client?.outcome]).toEqual(["runtime-default", false, null, "reset"]);
      // As PID 1 the re-raised SIGTERM is dropped and the runtime exits by itself: neither 0 nor 137.
      expect(t!.exitCode).not.toBe(0);
      expect(t!.exitCode).not.toBe(137);
      expect(classifyAgainstS5(t!)).toBe("ended-without-shutdown");
      expect(result.findings[0]!.verdict).toBe("inconclusive");
      expect(result.findings[0]!.summary).toMatch(/never subscribed with signal\.Notify/);
    }, 120_000);
  });
});

describe("docker-stop-timeout --binary, stripped (namespace runtime)", async () => {
  const missing = skipReason((await missingRuntime(createRuntime("namespace", launchers))) ?? missingKernel);
  describe.skipIf(missing !== null)(missing ?? "available", () => {
    it("no symbols: the port is found on loopback, SIGKILL at -t 1 and 137 are measured, the Shutdown is unseen and S5 inconclusive with the reason", async () => {
      const server = await stripProgram((await buildProbe("testhelpers/httpserver")).path, "httpserver");
      const result = await run({ runtime: "namespace", target: { kind: "binary", path: server, args: ["-graceful", "-listen", "127.0.0.1:0"] } }, [1]);
      const [t] = result.trials.map(analyseStopTrial);
      expect([t!.outcome, t!.exitCode, t!.shutdownBegin, t!.client?.outcome]).toEqual(["killed", 137, null, "reset"]);
      expect(Math.abs(t!.sigtermToSigkillMs! - 1000)).toBeLessThanOrEqual(TIMEOUT_TOLERANCE_MS);
      expect(t!.unseen).toMatch(/no uprobe on os\/signal\.process/);
      expect(classifyAgainstS5(t!)).toBe("unknown");
      expect(result.findings[0]!.verdict).toBe("inconclusive");
      expect(result.findings[0]!.summary).toMatch(/cannot be seen/);
      await expectNothingLeft({ runIds: [basename(result.bundle)], docker: false });
    }, 120_000);
  });
});
