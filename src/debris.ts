// Debris of dead harnesses, whatever runtime left it: one call removes it all, so a run on
// one runtime never trips over (or half-removes) what a killed run on another left. Each
// thing is named after its harness (a PID label, an owner file, a name with the PID), and
// only things whose harness is dead are touched.

import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import Docker from "dockerode";
import { sweepDeadInstances } from "./capture/tracefs.js";
import { resolveCacheDir } from "./probe/build.js";
import { launchers } from "./probe/launchers.js";
import { IMAGE_LABEL } from "./runtime/docker-image.js";
import { createRuntime } from "./runtime/index.js";
import { isAlive } from "./runtime/procfs.js";
import { removeDeadRunDirs } from "./runtime/run-dir.js";
import { RUNTIME_KINDS } from "./runtime/runtime.js";

/**
 * Removes what dead harnesses left: containers and processes (every runtime; Docker only
 * when its engine answers), run and Go build dirs, tracefs instances and uprobe groups,
 * half-built probes. Returns what it removed, one description each.
 */
export async function removeDebris(): Promise<string[]> {
  const removed: string[] = [];
  // Containers and processes first: a container's gate FIFO lives in its run dir.
  for (const kind of RUNTIME_KINDS) removed.push(...(await createRuntime(kind, launchers).removeDebris()));
  removed.push(...(await removeDeadRunDirs()));
  removed.push(...(await sweepDeadInstances().catch((): string[] => [])));
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
