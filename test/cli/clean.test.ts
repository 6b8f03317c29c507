// `forensics clean` against real debris: a docker run whose CLI was SIGKILLed mid-trial
// leaves its container up and its run dir (with the gate FIFO the container mounts); a dead
// harness's tracefs instance and uprobe group are planted by name, as the kernel observer
// names them. clean removes all of it and says so; a live harness's things stay.

import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Docker from "dockerode";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { LABELS } from "../../src/runtime/docker.js";
import { expectNothingLeft } from "../support/leftovers.js";
import { missingDocker, missingRoot, skipUnlessCI } from "../support/prereq.js";
import { ensureBuilt, makeSandbox, runCli, startCli, type RunningCli, type Sandbox } from "./cli.js";

beforeAll(ensureBuilt);

const TRACEFS = "/sys/kernel/tracing";
const readText = (path: string): Promise<string | null> => readFile(path, "utf8").catch(() => null);

/** The CLI's `driver` child, if one runs now. */
async function driverChild(pid: number): Promise<number | null> {
  for (const tid of await readdir(`/proc/${pid}/task`).catch((): string[] => [])) {
    for (const child of ((await readText(`/proc/${pid}/task/${tid}/children`)) ?? "").split(/\s+/).filter(Boolean)) {
      if (basename(((await readText(`/proc/${child}/cmdline`)) ?? "").split("\0")[0] ?? "") === "driver") return Number(child);
    }
  }
  return null;
}

async function waitFor(what: string, cli: RunningCli, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`no ${what}; stderr:\n${cli.stderr()}`);
    await sleep(1);
  }
}

/** A docker run SIGKILLed while a trial's container runs: its container and run dir stay. */
async function killedDockerRun(sandbox: Sandbox): Promise<{ pid: number; container: string; runDir: string }> {
  // SIGTERM at +0 µs to the probe as PID 1 is lost: each container stays up for the
  // settle time (or in the gate before it), in which the CLI dies.
  const cli = startCli(["run", "sigterm-race", "--runtime", "docker", "--init", "none", "--strace", "off", "--offsets", "0", "--trials", "5", "--out", sandbox.out], {
    sandbox,
    timeout: 120_000,
  });
  onTestFinished(() => void cli.child.kill("SIGKILL"));
  const docker = new Docker();
  const running = () => docker.listContainers({ filters: { label: [`${LABELS.owner}=${cli.pid}`], status: ["running"] } });
  await waitFor("running container", cli, async () => (await running()).length > 0);
  cli.child.kill("SIGKILL");
  await cli.done;
  // A driver the CLI had started ends by itself within its offset; it is no debris of a container.
  await waitFor("no driver", cli, async () => (await driverChild(cli.pid)) === null);

  const [container] = await docker.listContainers({ all: true, filters: { label: [`${LABELS.owner}=${cli.pid}`] } });
  expect(container, "the dead run's container is still there").toBeDefined();
  const runDirs = await readdir(join(sandbox.tmp, "forensics"));
  expect(runDirs).toHaveLength(1);
  return { pid: cli.pid, container: container!.Id, runDir: join(sandbox.tmp, "forensics", runDirs[0]!) };
}

describe("debris of a SIGKILLed docker run", () => {
  it("a run on the namespace runtime removes the container before its run dir", async (ctx) => {
    skipUnlessCI(ctx, (await missingDocker()) ?? missingRoot());
    const sandbox = await makeSandbox();
    const dead = await killedDockerRun(sandbox);
    const r = await runCli(["run", "sigterm-race", "--init", "none", "--strace", "off", "--offsets", "500000", "--out", join(sandbox.dir, "out2")], { sandbox });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/removed \d+ leftover/);
    expect(existsSync(dead.runDir)).toBe(false);
    await expect(new Docker().getContainer(dead.container).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await expectNothingLeft({ pid: dead.pid, sandbox, docker: true });
  });

  it("forensics clean removes it, and a dead harness's tracefs instance and uprobes", async (ctx) => {
    skipUnlessCI(ctx, (await missingDocker()) ?? missingRoot());
    const sandbox = await makeSandbox();
    const dead = await killedDockerRun(sandbox);
    const cli = { pid: dead.pid };

    // The kernel observer's names for the same dead harness.
    const tracefs = existsSync(join(TRACEFS, "instances"));
    const instance = `forensics-${cli.pid}-trial`;
    const group = `forensics_${cli.pid}_go`;
    if (tracefs) {
      await mkdir(join(TRACEFS, "instances", instance));
      await writeFile(join(TRACEFS, "uprobe_events"), `p:${group}/sighandler /usr/bin/true:0x1000\n`, { flag: "a" });
      await writeFile(join(TRACEFS, "instances", instance, "events", group, "enable"), "1");
      onTestFinished(async () => {
        await rmdir(join(TRACEFS, "instances", instance)).catch(() => {});
        await writeFile(join(TRACEFS, "uprobe_events"), `-:${group}/sighandler\n`, { flag: "a" }).catch(() => {});
      });
    }

    const r = await runCli(["clean", "--json"], { sandbox });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    const { removed } = JSON.parse(r.stdout) as { removed: string[] };
    expect(removed).toContainEqual(expect.stringMatching(new RegExp(`^container ${dead.container.slice(0, 12)} `)));
    expect(removed).toContainEqual(expect.stringContaining(`run dir ${dead.runDir}`));
    if (tracefs) {
      expect(removed).toContain(`tracefs instance ${instance}`);
      expect(removed).toContainEqual(expect.stringMatching(new RegExp(`^uprobe ${group}/`)));
      expect(existsSync(join(TRACEFS, "instances", instance))).toBe(false);
      expect(await readFile(join(TRACEFS, "uprobe_events"), "utf8")).not.toContain(group);
    }
    await expectNothingLeft({ pid: cli.pid, sandbox, docker: true });

    const again = await runCli(["clean"], { sandbox });
    expect(again.stdout).toBe("nothing to remove");
  });

});

describe("forensics clean", () => {
  it("--caches removes the probe build cache; an engine that does not answer is skipped quietly", async () => {
    const sandbox = await makeSandbox();
    const cache = join(sandbox.dir, "cache", "forensics", "probes");
    await mkdir(join(cache, "0123abcd"), { recursive: true });
    await writeFile(join(cache, "0123abcd", "gate"), "a cached probe\n");
    const r = await runCli(["clean", "--caches"], { sandbox, env: { XDG_CACHE_HOME: join(sandbox.dir, "cache"), DOCKER_HOST: "tcp://127.0.0.1:1" } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")).toContain(`removed probe build cache ${cache}`);
    expect(existsSync(cache)).toBe(false);
    expect(r.durationMs).toBeLessThan(15_000);
  });

  it("keeps what a live harness owns", async (ctx) => {
    skipUnlessCI(ctx, missingRoot());
    const sandbox = await makeSandbox();
    const live = join(sandbox.tmp, "forensics", "live-run");
    await mkdir(live, { recursive: true });
    await writeFile(join(live, "owner"), `${process.pid}\n`);
    const instance = `forensics-${process.pid}-live`;
    const tracefs = existsSync(join(TRACEFS, "instances"));
    if (tracefs) {
      await mkdir(join(TRACEFS, "instances", instance));
      onTestFinished(() => rmdir(join(TRACEFS, "instances", instance)).catch(() => {}));
    }
    const r = await runCli(["clean", "--json"], { sandbox });
    expect(r.exitCode, r.stderr).toBe(0);
    const { removed } = JSON.parse(r.stdout) as { removed: string[] };
    expect(removed.filter((d) => d.includes(live) || d.includes(instance))).toEqual([]);
    expect(existsSync(live)).toBe(true);
    if (tracefs) expect(existsSync(join(TRACEFS, "instances", instance))).toBe(true);
  });
});
