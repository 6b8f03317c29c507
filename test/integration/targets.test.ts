// The user's own program as the target: a Go service that prints nothing of the probe
// protocol (go-probes/testhelpers/service), run as --binary on the namespace runtime and
// from an image built FROM scratch with its own entrypoint, cmd and a non-root USER on
// the docker runtime. What the probe used to report (Notify) must come from the kernel
// observer's uprobes; everything is computed from records and checked against the exit.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyseRaceTrial } from "../../scenarios/sigterm-race/analysis.js";
import sigtermRace from "../../scenarios/sigterm-race/index.js";
import { isHarnessError } from "../../src/errors.js";
import { buildProbe } from "../../src/probe/build.js";
import { launchers } from "../../src/probe/launchers.js";
import { buildConfiguredImage } from "../../src/runtime/docker-image.js";
import { resolveImage } from "../../src/runtime/image.js";
import { createRuntime } from "../../src/runtime/index.js";
import { runCleanups } from "../../src/cleanup.js";
import { runScenario, type RunOptions } from "../../src/scenario/run.js";
import { binaryTarget, isShellForm } from "../../src/scenario/target.js";
import { expectNothingLeft } from "../support/leftovers.js";
import { missingKernelObserver, missingRuntime, skipReason } from "../support/prereq.js";

const SIGTERM_AFTER_US = 1_000_000;
const out = await mkdtemp(join(tmpdir(), "forensics-targets-"));
afterAll(async () => {
  await runCleanups();
  await rm(out, { recursive: true, force: true });
});

const missingKernel = await missingKernelObserver();

const run = (options: Pick<RunOptions, "runtime" | "target" | "inits">) =>
  runScenario({
    scenario: sigtermRace,
    go: [undefined],
    sweep: { trials: 1, observerSets: [["kernel"]], options: { offsets: [SIGTERM_AFTER_US] } },
    outDir: out,
    ...options,
  });

describe("sigterm-race --binary (namespace runtime)", async () => {
  const missing = skipReason((await missingRuntime(createRuntime("namespace", launchers))) ?? missingKernel);
  describe.skipIf(missing !== null)(missing ?? "available", () => {
    let service: string;
    beforeAll(async () => {
      service = (await buildProbe("testhelpers/service")).path;
    });

    it("a service with Notify: the kernel's uprobe times Notify, SIGTERM after it ends the service with exit 0", async () => {
      const result = await run({ runtime: "namespace", inits: ["none"], target: { kind: "binary", path: service, args: ["-notify"] } });
      expect(result.variants[0]).toMatchObject({ init: "none", go: expect.stringMatching(/^go1\.\d+/) });
      const [t] = result.trials.map(analyseRaceTrial);
      expect(t!.notifyUs, "Notify seen through its uprobe").not.toBeNull();
      expect(t!.handlerSource).toBe("kernel");
      expect([t!.phase, t!.outcome, t!.exitCode, t!.signalFate]).toEqual(["after-notify", "handled", 0, "delivered"]);
      await expectNothingLeft({ runIds: [result.bundle.split("/").pop()!], docker: false });
    });

    it("a service without Notify as PID 1: after the handler the runtime's default, which the kernel cannot make kill PID 1", async () => {
      const result = await run({ runtime: "namespace", inits: ["none"], target: { kind: "binary", path: service, args: [] } });
      const [t] = result.trials.map(analyseRaceTrial);
      expect(t!.notifyUs).toBeNull();
      expect([t!.phase, t!.outcome, t!.signalFate]).toEqual(["after-handler", "runtime-default", "delivered"]);
      // Go's dieFromSignal falls back to an exit when the re-raised signal is dropped: not 0, not killed.
      expect(t!.signal).toBeNull();
      expect(t!.exitCode).not.toBe(0);
    });
  });
});

describe("sigterm-race --image (docker runtime)", async () => {
  const missing = skipReason((await missingRuntime(createRuntime("docker", launchers))) ?? missingKernel);
  describe.skipIf(missing !== null)(missing ?? "available", () => {
    const docker = new Docker();
    const tag = `forensics-test/service:${process.pid}`;
    beforeAll(async () => {
      const service = (await buildProbe("testhelpers/service")).path;
      const image = await resolveImage({ files: [{ hostPath: service, path: "/app/service" }] }, { requireGate: false });
      await buildConfiguredImage(docker, image, tag, { entrypoint: ["/app/service"], cmd: ["-notify"], user: "1000:1000" });
    });
    afterAll(async () => {
      await docker.getImage(tag).remove({ force: true }).catch(() => {});
    });

    it("runs the image unchanged as user 1000, with its entrypoint and cmd, gate injected; Notify from the uprobe", async () => {
      const result = await run({ runtime: "docker", inits: ["none"], target: { kind: "image", image: tag, args: [] } });
      const [t] = result.trials.map(analyseRaceTrial);
      expect([t!.phase, t!.outcome, t!.exitCode]).toEqual(["after-notify", "handled", 0]);
      const container = result.trials[0]!.records.runtime.find((r) => r.kind === "probe" && r.ev === "container");
      expect(container?.kind === "probe" && container.fields.target).toMatchObject({ kind: "image", label: tag, programPath: "/app/service", shellForm: false });
      await expectNothingLeft({ runIds: [result.bundle.split("/").pop()!], docker: true });
    });

    it("args after -- replace the image's cmd", async () => {
      const result = await run({ runtime: "docker", inits: ["none"], target: { kind: "image", image: tag, args: ["-delay", "10ms"] } });
      const [t] = result.trials.map(analyseRaceTrial);
      expect([t!.phase, t!.outcome]).toEqual(["after-handler", "runtime-default"]);
    });

    it("a shell-form entrypoint is recognised and reported: PID 1 is the shell (busybox sh execs the program)", async () => {
      const shellTag = `forensics-test/service-shell:${process.pid}`;
      const service = (await buildProbe("testhelpers/service")).path;
      const image = await resolveImage({ files: [{ hostPath: service, path: "/app/service" }, { hostPath: "/bin/busybox", path: "/bin/sh" }] }, { requireGate: false });
      await buildConfiguredImage(docker, image, shellTag, { entrypoint: ["/bin/sh", "-c", "/app/service -notify"] });
      try {
        const result = await run({ runtime: "docker", inits: ["none"], target: { kind: "image", image: shellTag, args: [] } });
        const json = sigtermRace.render.trialJson(result.trials[0]!);
        expect(json.pid1Shell).toBe(true);
        // The Go release of the program the shell's command starts, not of the shell.
        expect(result.variants[0]!.go).toMatch(/^go1\.\d+/);
        expect(result.trials.map((t) => sigtermRace.render.variantSummary(t.variant, [t]).join("\n")).join("")).toMatch(/PID 1 is a shell/);
        // BusyBox's sh -c replaces itself with the last command: the service handles SIGTERM itself.
        expect(analyseRaceTrial(result.trials[0]!).exitCode).toBe(0);
      } finally {
        await docker.getImage(shellTag).remove({ force: true }).catch(() => {});
      }
    });

    it("an image whose entrypoint is not in it cannot start: bad input, said before any bundle or container", async () => {
      const brokenTag = `forensics-test/service-broken:${process.pid}`;
      const service = (await buildProbe("testhelpers/service")).path;
      const image = await resolveImage({ files: [{ hostPath: service, path: "/app/service" }] }, { requireGate: false });
      await buildConfiguredImage(docker, image, brokenTag, { entrypoint: ["/app/missing"] });
      try {
        const before = await readdir(out);
        const failure = await run({ runtime: "docker", inits: ["none"], target: { kind: "image", image: brokenTag, args: [] } }).then(
          () => null,
          (err: unknown) => err,
        );
        expect(isHarnessError(failure) && [failure.code, failure.message]).toEqual(["BAD_INPUT", `image ${brokenTag} cannot start: its /app/missing is not a file in the image`]);
        expect(await readdir(out)).toEqual(before);
        await expectNothingLeft({ pid: process.pid, docker: true });
      } finally {
        await docker.getImage(brokenTag).remove({ force: true }).catch(() => {});
      }
    });

    it("an image the engine does not have is one clear error", async () => {
      await expect(run({ runtime: "docker", inits: ["none"], target: { kind: "image", image: "forensics-test/absent:none", args: [] } })).rejects.toThrow(
        /image forensics-test\/absent:none is not in the local Docker engine/,
      );
    });
  });
});

describe("--binary that is not an executable for this machine", () => {
  it("an ELF for another machine is bad input, one line naming both", async () => {
    const bytes = await readFile((await buildProbe("testhelpers/service")).path);
    // e_machine (offset 18): x86-64 ↔ AArch64.
    bytes.writeUInt16LE(process.arch === "arm64" ? 62 : 183, 18);
    const foreign = join(out, "foreign-service");
    await writeFile(foreign, bytes, { mode: 0o755 });
    await expect(binaryTarget(foreign, [])).rejects.toThrow(new RegExp(`^--binary ${foreign}: built for ELF machine ${process.arch === "arm64" ? 62 : 183}, this host runs ${process.arch}$`));
  });
});

describe("isShellForm", () => {
  it.each([
    [["/bin/sh", "-c", "exec /app/server"], true],
    [["sh", "-c", "/app/server"], true],
    [["/bin/bash", "-c", "x"], true],
    [["/app/server", "-c", "config.yaml"], false],
    [["/bin/sh", "/entrypoint.sh"], false],
  ])("%j → %s", (argv, shell) => {
    expect(isShellForm(argv)).toBe(shell);
  });
});
