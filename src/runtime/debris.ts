// Debris of dead harnesses, whatever runtime left it: one call removes it all, so a run on
// one runtime never trips over (or half-removes) what a killed run on another left. Each
// thing is named after its harness (a PID label, an owner file, a name with the PID), and
// only things whose harness is dead are touched.

import { readdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import Docker from "dockerode";
import { resolveCacheDir } from "../probe/build.js";
import { IMAGE_LABEL } from "./docker-image.js";
import { createRuntime } from "./index.js";
import { isAlive } from "./procfs.js";
import { removeDeadRunDirs } from "./run-dir.js";
import { RUNTIME_KINDS } from "./runtime.js";

/**
 * Removes what dead harnesses left: containers and processes (every runtime; Docker only
 * when its engine answers), run and Go build dirs, tracefs instances and uprobe groups,
 * half-built probes. Returns what it removed, one description each.
 */
export async function removeDebris(): Promise<string[]> {
  const removed: string[] = [];
  // Containers and processes first: a container's gate FIFO lives in its run dir.
  for (const kind of RUNTIME_KINDS) removed.push(...(await createRuntime(kind).removeDebris()));
  removed.push(...(await removeDeadRunDirs()));
  removed.push(...(await removeDeadTracefs()));
  removed.push(...(await removeDeadPartialBuilds()));
  return removed;
}

/** Removes the probe build cache and the forensics images (those no container uses). */
export async function removeCaches(): Promise<string[]> {
  const removed: string[] = [];
  const cache = resolveCacheDir();
  if ((await readdir(cache).catch(() => null)) !== null) {
    await rm(cache, { recursive: true, force: true });
    removed.push(`probe build cache ${cache}`);
  }
  const docker = new Docker({ timeout: 2_000 });
  const images = await docker.listImages({ filters: { label: [`${IMAGE_LABEL}=1`] } }).catch(() => null);
  for (const image of images ?? []) {
    const removedImage = await docker
      .getImage(image.Id)
      .remove()
      .then(
        () => true,
        // 409: a container (maybe a live harness's) still uses it; it stays.
        (err: { statusCode?: number }) => {
          if (err.statusCode === 409 || err.statusCode === 404) return false;
          throw err;
        },
      );
    if (removedImage) removed.push(`image ${(image.RepoTags ?? []).join(", ") || image.Id.slice(7, 19)}`);
  }
  return removed;
}

// Another part of forensics attaches the kernel observer; the only contract is the names:
// instances `forensics-<pid>-…`, uprobe groups `forensics_<pid>_…`.
const TRACEFS_ROOTS = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];
const INSTANCE = /^forensics-(\d+)-/;
const UPROBE = /^[pr]:(forensics_(\d+)_[^/\s]*)\/(\S+)/;

async function removeDeadTracefs(): Promise<string[]> {
  let root: string | null = null;
  for (const candidate of TRACEFS_ROOTS) {
    if ((await readdir(join(candidate, "instances")).catch(() => null)) !== null) {
      root = candidate;
      break;
    }
  }
  if (root === null) return [];
  const removed: string[] = [];
  const dead = async (pid: string) => Number(pid) !== process.pid && !(await isAlive(Number(pid)));

  // Instances first: removing an instance disables the events enabled in it, and an
  // enabled uprobe cannot be deleted (EBUSY).
  for (const name of await readdir(join(root, "instances"))) {
    const m = INSTANCE.exec(name);
    if (!m || !(await dead(m[1]!))) continue;
    if (await rmdir(join(root, "instances", name)).then(() => true, () => false)) removed.push(`tracefs instance ${name}`);
  }

  const events = join(root, "uprobe_events");
  const groups = new Map<string, string[]>();
  for (const line of ((await readFile(events, "utf8").catch(() => "")) ?? "").split("\n")) {
    const m = UPROBE.exec(line);
    if (m && (await dead(m[2]!))) groups.set(m[1]!, [...(groups.get(m[1]!) ?? []), m[3]!]);
  }
  for (const [group, names] of groups) {
    await writeFile(join(root, "events", group, "enable"), "0").catch(() => {});
    let ok = true;
    for (const event of names) {
      // O_APPEND: opening uprobe_events without it would delete every uprobe on the host.
      ok = (await writeFile(events, `-:${group}/${event}\n`, { flag: "a" }).then(() => true, () => false)) && ok;
    }
    if (ok) removed.push(`uprobe group ${group}`);
  }
  return removed;
}

/** Half-built probes (`.<name>.<pid>.<hex>.partial`) whose go build a killed harness left. */
async function removeDeadPartialBuilds(): Promise<string[]> {
  const cache = resolveCacheDir();
  const removed: string[] = [];
  for (const hash of await readdir(cache).catch((): string[] => [])) {
    for (const name of await readdir(join(cache, hash)).catch((): string[] => [])) {
      const m = /^\..+\.(\d+)\.[0-9a-f]+\.partial$/.exec(name);
      if (!m || Number(m[1]) === process.pid || (await isAlive(Number(m[1])))) continue;
      await rm(join(cache, hash, name), { force: true });
      removed.push(`half-built probe ${join(cache, hash, name)}`);
    }
  }
  return removed;
}
