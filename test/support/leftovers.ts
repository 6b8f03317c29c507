import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { LABELS } from "../../src/runtime/docker.js";
import { processesWithEnv } from "../../src/runtime/procfs.js";
import { forensicsTmp } from "../../src/runtime/run-dir.js";

/** What a run left behind: processes, containers, trial dirs, mounts, tracers. Empty when clean. */
export async function findLeftovers(runId: string, options: { docker: boolean }): Promise<string[]> {
  const left: string[] = [];
  for (const p of await processesWithEnv("FORENSICS_RUN")) if (p.value === runId) left.push(`process ${p.pid}`);
  if (options.docker) {
    const containers = await new Docker().listContainers({ all: true, filters: { label: [`${LABELS.run}=${runId}`] } });
    for (const c of containers) left.push(`container ${c.Id.slice(0, 12)} (${c.State})`);
  }
  const runDir = join(forensicsTmp(), runId);
  if (existsSync(runDir)) for (const name of readdirSync(runDir)) if (name !== "owner") left.push(`trial dir ${join(runDir, name)}`);
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) if (line.includes(runId)) left.push(`mount ${line}`);
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    const cmdline = (() => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      } catch {
        return [];
      }
    })();
    if (cmdline[0]?.endsWith("strace") && cmdline.some((a) => a.includes(runId))) left.push(`strace ${pid}`);
  }
  return left;
}
