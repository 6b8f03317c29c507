// Both runtimes against the real gate, driver and sigterm probe, in real containers. A
// missing prerequisite (Go, the Docker engine, namespaces) skips a runtime on a laptop and
// fails it under CI=true, where a skip would hide that the runtime was never tested.

import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import Docker from "dockerode";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { buildProbe, type BuiltProbe } from "../../src/probe/build.js";
import { runCleanups } from "../../src/cleanup.js";
import { removeDebris } from "../../src/debris.js";
import { createDockerRuntime, LABELS } from "../../src/runtime/docker.js";
import { initCommand, initFiles } from "../../src/runtime/image.js";
import { launchers } from "../../src/probe/launchers.js";
import { createRuntime } from "../../src/runtime/index.js";
import { isAlive, isGateBlocked } from "../../src/runtime/procfs.js";
import { forensicsTmp } from "../../src/runtime/run-dir.js";
import { expectNothingLeft } from "../support/leftovers.js";
import { missingRuntime, skipReason } from "../support/prereq.js";
import { GATE_PATH, type Container, type InitKind, type RuntimeKind } from "../../src/runtime/runtime.js";

const VICTIM = fileURLToPath(new URL("../fixtures/runtime/harness-victim.ts", import.meta.url));
const VITE_NODE = fileURLToPath(new URL("../../node_modules/.bin/vite-node", import.meta.url));
const docker = new Docker();

// The probe waits NOTIFY_DELAY before signal.Notify; the driver signals well after that.
const NOTIFY_DELAY = "50ms";
const SIGNAL_AFTER_US = 300_000;

interface ProbeEvent {
  ev: string;
  pid?: number;
  ppid?: number;
}

const events = (stdout: string): ProbeEvent[] =>
  stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as ProbeEvent);

const cases: [RuntimeKind, InitKind[]][] = [
  ["namespace", ["none", "tini", "dumb-init"]],
  ["docker", ["none", "tini", "dumb-init", "docker-init"]],
];

describe.each(cases)("%s runtime", async (kind, inits) => {
  const runtime = createRuntime(kind, launchers);
  const skipped = skipReason(await missingRuntime(runtime));
  const runId = `rt-${kind}-${process.pid}-${Date.now().toString(36)}`;
  let gate: BuiltProbe, probe: BuiltProbe, driver: BuiltProbe;
  let trials = 0;

  const create = async (init: InitKind): Promise<Container> => {
    const container = await runtime.create({
      runId,
      trialId: `t${trials++}`,
      image: {
        files: [{ hostPath: gate.path, path: GATE_PATH }, { hostPath: probe.path, path: "/probe" }, ...(await initFiles(init))],
      },
      command: initCommand(init, ["/probe", "-notify-delay", NOTIFY_DELAY]),
      env: { TZ: "UTC" },
      init,
    });
    // A failed assertion must not leave debris that fails the next test too.
    onTestFinished(() => container.remove());
    return container;
  };

  /** Nothing of the run survives: no process, no container, no trial dir. */
  const expectNoDebris = () => expectNothingLeft({ runIds: [runId], docker: kind === "docker" });

  describe.skipIf(skipped !== null)(skipped ?? "available", () => {
    beforeAll(async () => {
      [gate, probe, driver] = await Promise.all([buildProbe("gate"), buildProbe("sigterm"), buildProbe("driver")]);
    });

    afterAll(async () => {
      await runCleanups();
      // The run dir itself goes when its harness exits; vitest may end this worker abruptly.
      await rm(join(forensicsTmp(), runId), { recursive: true, force: true });
    });

    it("preflight finds everything the runtime needs", async () => {
      await runtime.preflight();
    });

    it.each(inits)("init %s: the gate holds the probe until the FIFO is opened, then SIGTERM ends it", async (init) => {
      const container = await create(init);
      await container.start();
      const gatePid = await container.gatePid();
      expect(await isGateBlocked(gatePid, "gate")).toBe(true);
      if (init === "docker-init") expect(gatePid).not.toBe(container.pid());
      else expect(gatePid).toBe(container.pid());
      expect(events((await container.logs()).stdout)).toEqual([]);
      expect(await container.wait(50)).toBeNull();

      const released = await execa(driver.path, [
        "-fifo", container.gateFifoHostPath(),
        "-kill-pid", String(container.pid()),
        "-offset-us", String(SIGNAL_AFTER_US),
      ]);
      const report = JSON.parse(released.stdout) as { execNs: string; error?: string; killError?: string };
      expect(report.error).toBeUndefined();
      expect(report.killError).toBeUndefined();

      // tini, dumb-init and docker-init forward SIGTERM to the probe and exit with its code:
      // every init gives 0 here (measured), like the probe as PID 1.
      expect(await container.wait(10_000)).toEqual({ code: 0, signal: null });
      const seen = events((await container.logs()).stdout);
      expect(seen.map((e) => e.ev)).toEqual(["start", "notify", "signal", "shutdown-begin", "shutdown-end", "exit"]);
      const start = seen[0]!;
      if (init === "none") {
        expect(start).toMatchObject({ pid: 1, ppid: 0 });
      } else {
        // Not 2: the Go gate's (and runc's) threads took PIDs of the namespace before the exec.
        expect(start.ppid).toBe(1);
        expect(start.pid).toBeGreaterThan(1);
      }

      await container.remove();
      await container.remove();
      await expectNoDebris();
    });

    it("the program sees a /proc of its own PID namespace and starts in / of its root", async () => {
      const container = await create("none");
      await container.start();
      const pid = await container.gatePid();
      // Through the gate's own root: its /proc lists its namespace, where the gate is PID 1.
      expect(readFileSync(`/proc/${pid}/root/proc/1/comm`, "utf8")).toBe("gate\n");
      expect(readlinkSync(`/proc/${pid}/cwd`)).toBe(readlinkSync(`/proc/${pid}/root`));
      await container.remove();
      await expectNoDebris();
    });

    it("stop() delivers SIGTERM and returns once the probe has shut down", async () => {
      const container = await create("none");
      await container.start();
      await execa(driver.path, ["-fifo", container.gateFifoHostPath(), "-kill-pid", String(container.pid())]);
      for (let i = 0; i < 500 && !events((await container.logs()).stdout).some((e) => e.ev === "notify"); i++) await sleep(10);
      await container.stop(5);
      expect(await container.wait(0)).toEqual({ code: 0, signal: null });
      expect(events((await container.logs()).stdout).map((e) => e.ev)).toContain("shutdown-end");
      await container.remove();
      await expectNoDebris();
    });

    it("reports a PID 1 killed by SIGKILL", async () => {
      const container = await create("none");
      await container.start();
      await container.signal("SIGKILL");
      // Only the namespace runtime sees the real wait status; docker says 128+9 either way.
      expect(await container.wait(10_000)).toEqual({ code: 137, signal: kind === "namespace" ? "SIGKILL" : null });
      await container.signal("SIGTERM");
      await container.remove();
      await expectNoDebris();
    });

    it("fails start() with the gate's stderr when the gate dies before the release", async () => {
      const container = await create("none");
      await rm(container.gateFifoHostPath());
      const started = container.start();
      await expect(started).rejects.toMatchObject({ code: "TRIAL_FAILED" });
      await expect(started).rejects.toThrow(/entrypoint exited before the gate was released: gate: open \/\.forensics\/gate\.fifo/);
      await container.remove();
      await expectNoDebris();
    });

    it("removeDebris() removes what a SIGKILLed harness left behind", async () => {
      const victimRun = `${runId}-victim`;
      const victim = execa(VITE_NODE, [VICTIM, kind, victimRun, gate.path, probe.path], { reject: false });
      const line = await new Promise<string>((resolve, reject) => {
        victim.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString()));
        void victim.then((r) => reject(new Error(`the victim harness ended early: ${r.stderr}`)));
      });
      const started = JSON.parse(line) as { pid: number; id: string };
      expect(await isAlive(started.pid)).toBe(true);
      victim.kill("SIGKILL");
      await victim;

      if (kind === "namespace") {
        // nsrun's parent-death signal takes the whole PID namespace down with the harness.
        for (let i = 0; i < 200 && (await isAlive(started.pid)); i++) await sleep(10);
        expect(await isAlive(started.pid)).toBe(false);
      } else {
        const { State } = await docker.getContainer(started.id).inspect();
        expect(State.Running).toBe(true);
      }
      expect(existsSync(join(forensicsTmp(), victimRun))).toBe(true);

      // Whatever runtime the next run uses, one call removes it all.
      expect((await removeDebris()).length).toBeGreaterThanOrEqual(1);
      expect(existsSync(join(forensicsTmp(), victimRun))).toBe(false);
      expect(await isAlive(started.pid)).toBe(false);
      if (kind === "docker") {
        const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.run}=${victimRun}`] } });
        expect(left).toEqual([]);
      }
    });
  });
});

describe("docker preflight", () => {
  it("names the unreachable engine and the fix, quickly", async () => {
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = "tcp://127.0.0.1:1";
    const runtime = createDockerRuntime(new Docker());
    if (saved === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = saved;

    const t0 = Date.now();
    const err = await runtime.preflight().then(() => null, (e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(6_000);
    expect(err).toMatchObject({ code: "DOCKER_UNREACHABLE" });
    expect((err as Error).message).toMatch(/127\.0\.0\.1:1.*--runtime namespace/);
  });
});
