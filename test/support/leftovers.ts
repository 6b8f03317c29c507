// The one check of what a harness left behind, for every test that starts one: the CLI
// through a sandbox, or runScenario/runtimes in this very process. Other engineers' runs
// share this host, so everything is scoped: to the harness's PID, its run ids and its
// sandbox path. Whatever is found is removed, so one failing test does not leave debris
// for the next.

import { readdir, readFile, rm } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import Docker from "dockerode";
import { expect } from "vitest";
import { LABELS } from "../../src/runtime/docker.js";
import { forensicsTmp } from "../../src/runtime/run-dir.js";
import { dockerReachable } from "./prereq.js";

export interface LeftoverScope {
  /** The harness's PID: its processes carry FORENSICS_OWNER=<pid>, its containers forensics.owner=<pid>. */
  pid?: number;
  /** Runs whose processes (FORENSICS_RUN, argv), containers, trial dirs and mounts are looked for. */
  runIds?: string[];
  /**
   * A CLI's sandbox: its TMPDIR must end up holding nothing but an empty `forensics/`, no
   * process may name it in its argv, and every bundle under `out` is a run id of the scope.
   */
  sandbox?: { dir: string; tmp: string; out: string };
  /** Look for containers too; the engine must then be reachable. */
  docker?: boolean;
}

interface Leftover {
  what: string;
  remove(): Promise<void>;
}

const readText = (path: string): Promise<string | null> => readFile(path, "utf8").catch(() => null);
const list = (dir: string): Promise<string[]> => readdir(dir).catch((): string[] => []);

const killer = (pid: number) => async () => {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // gone already
  }
};

async function collectLeftovers(scope: LeftoverScope): Promise<Leftover[]> {
  const found: Leftover[] = [];
  const sandbox = scope.sandbox;
  const runIds = [...(scope.runIds ?? []), ...(sandbox ? (await list(sandbox.out)).filter((n) => !n.startsWith(".")) : [])];

  // Processes: labelled by the namespace runtime, or naming the sandbox or a run in their
  // argv (strace -o <out>/…, driver -fifo <tmp>/…, nsrun -root <tmp>/…, go build -o <cache>/…).
  for (const entry of await list("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const [environ, cmdline] = await Promise.all([readText(`/proc/${pid}/environ`), readText(`/proc/${pid}/cmdline`)]);
    const env = environ?.split("\0") ?? [];
    const argv = cmdline?.split("\0").filter(Boolean) ?? [];
    const why =
      (scope.pid !== undefined && env.includes(`FORENSICS_OWNER=${scope.pid}`) ? `FORENSICS_OWNER=${scope.pid}` : null) ??
      env.find((kv) => runIds.some((id) => kv === `FORENSICS_RUN=${id}`)) ??
      (sandbox && argv.some((a) => a.includes(sandbox.dir)) ? "argv names the sandbox" : null) ??
      (runIds.some((id) => argv.some((a) => a.includes(id))) ? "argv names a run" : null);
    if (why === null) continue;
    found.push({ what: `process ${pid} (${argv.join(" ").slice(0, 160)}) — ${why}`, remove: killer(pid) });
  }

  // Containers labelled with the harness's PID or one of its runs.
  if (scope.docker || (await dockerReachable())) {
    const docker = new Docker();
    const filters = [...(scope.pid !== undefined ? [`${LABELS.owner}=${scope.pid}`] : []), ...runIds.map((id) => `${LABELS.run}=${id}`)];
    const seen = new Set<string>();
    for (const label of filters) {
      for (const c of await docker.listContainers({ all: true, filters: { label: [label] } })) {
        if (seen.has(c.Id)) continue;
        seen.add(c.Id);
        found.push({ what: `container ${c.Id.slice(0, 12)} (${c.State}, ${label})`, remove: () => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {}) });
      }
    }
  }

  // The sandbox's TMPDIR: run dirs, Go work dirs, anything at all.
  if (sandbox) {
    for (const name of await list(sandbox.tmp)) {
      const path = join(sandbox.tmp, name);
      if (name !== "forensics") found.push({ what: `temp file ${path}`, remove: () => rm(path, { recursive: true, force: true }) });
    }
    for (const name of await list(join(sandbox.tmp, "forensics"))) {
      const path = join(sandbox.tmp, "forensics", name);
      found.push({ what: `run dir ${path}`, remove: () => rm(path, { recursive: true, force: true }) });
    }
  }
  // The default TMPDIR: a run dir the harness owns; trial dirs of a run (the run dir of a
  // harness that is this process goes only when it exits).
  const defaultRuns = join(tmpdir(), "forensics");
  for (const name of await list(defaultRuns)) {
    const path = join(defaultRuns, name);
    const owner = (await readText(join(path, "owner")))?.trim();
    if (scope.pid !== undefined && scope.pid !== process.pid && owner === String(scope.pid)) {
      found.push({ what: `run dir ${path} (owner ${scope.pid})`, remove: () => rm(path, { recursive: true, force: true }) });
    } else if (runIds.includes(name)) {
      for (const trial of (await list(path)).filter((n) => n !== "owner")) {
        found.push({ what: `trial dir ${join(path, trial)}`, remove: () => rm(join(path, trial), { recursive: true, force: true }) });
      }
    }
  }
  // The same for a run dir under forensicsTmp() when this process's TMPDIR is not the default.
  if (forensicsTmp() !== defaultRuns) {
    for (const id of runIds) {
      for (const trial of (await list(join(forensicsTmp(), id))).filter((n) => n !== "owner")) {
        const path = join(forensicsTmp(), id, trial);
        found.push({ what: `trial dir ${path}`, remove: () => rm(path, { recursive: true, force: true }) });
      }
    }
  }

  // Mounts naming a run (a trial's bind or tmpfs mount that was never undone).
  for (const line of ((await readText("/proc/self/mountinfo")) ?? "").split("\n")) {
    if (runIds.some((id) => line.includes(id))) found.push({ what: `mount ${line}`, remove: async () => {} });
  }

  // Half-built probes the harness's go build left in the cache (.<name>.<pid>.<hex>.partial).
  if (scope.pid !== undefined) {
    const xdg = process.env.XDG_CACHE_HOME;
    const cache = join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), ".cache"), "forensics", "probes");
    for (const hash of await list(cache)) {
      for (const name of await list(join(cache, hash))) {
        if (!name.endsWith(".partial") || !name.includes(`.${scope.pid}.`)) continue;
        const path = join(cache, hash, name);
        found.push({ what: `partial probe build ${path}`, remove: () => rm(path, { force: true }) });
      }
    }
  }
  return found;
}

/** What the harness left behind, described; empty when clean. What is found is removed. */
export async function findLeftovers(scope: LeftoverScope): Promise<string[]> {
  if (scope.docker) expect(await dockerReachable(), "the Docker engine answers (to look for leftover containers)").toBe(true);
  const found = await collectLeftovers(scope);
  for (const f of found) await f.remove();
  return found.map((f) => f.what);
}

/** Asserts the harness left nothing behind (see findLeftovers). */
export async function expectNothingLeft(scope: LeftoverScope): Promise<void> {
  expect(await findLeftovers(scope)).toEqual([]);
}
