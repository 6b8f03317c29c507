// Host directories of runs and trials: ${TMPDIR}/forensics/<runId>/<trialId>/. A run dir
// names its owner (the harness PID) in a file, so a later harness can tell debris of a dead
// run from the files of a live one.

import { rmSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { HarnessError } from "../errors.js";
import { isAlive } from "./procfs.js";

const OWNER_FILE = "owner";
// Ids become path components, container names and label values.
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export const forensicsTmp = (): string => join(tmpdir(), "forensics");

const ownRunDirs = new Set<string>();

/** Creates the trial's (empty) host dir; a trial id may be used once per run. */
export async function makeTrialDir(runId: string, trialId: string): Promise<string> {
  for (const id of [runId, trialId]) {
    if (!ID.test(id)) throw new HarnessError("BAD_INPUT", `run and trial ids must match ${ID.source}, got ${JSON.stringify(id)}`);
  }
  const runDir = await ensureRunDir(runId);
  const dir = join(runDir, trialId);
  await mkdir(dir).catch((err: NodeJS.ErrnoException) => {
    throw err.code === "EEXIST" ? new HarnessError("BAD_INPUT", `trial id ${trialId} was used twice in run ${runId}`) : err;
  });
  return dir;
}

async function ensureRunDir(runId: string): Promise<string> {
  const root = forensicsTmp();
  const runDir = join(root, runId);
  if (ownRunDirs.has(runDir)) return runDir;
  await mkdir(root, { recursive: true });
  // The run dir appears with its owner file already inside (rename is atomic), so a
  // concurrent sweep never sees an ownerless run dir it would take for debris.
  const staging = await mkdtemp(join(root, `.${runId}-`));
  await writeFile(join(staging, OWNER_FILE), `${process.pid}\n`);
  await rename(staging, runDir).catch(async (err: NodeJS.ErrnoException) => {
    await rm(staging, { recursive: true, force: true });
    if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
  });
  ownRunDirs.add(runDir);
  // Trials remove their own dirs; the run dir goes when the harness exits (a SIGKILLed
  // harness leaves it to the next sweep). Only synchronous work runs in an exit handler.
  process.once("exit", () => rmSync(runDir, { recursive: true, force: true }));
  return runDir;
}

/** Prefix of the dirs go builds in (GOTMPDIR), followed by the harness PID: debris once it is dead. */
const GO_TMP_PREFIX = "gobuild-";

/** A fresh dir for one go build's GOTMPDIR, named after this harness. */
export async function makeGoBuildDir(): Promise<string> {
  await mkdir(forensicsTmp(), { recursive: true });
  return mkdtemp(join(forensicsTmp(), `${GO_TMP_PREFIX}${process.pid}-`));
}

/** Makes the gate's FIFO; Node has no mkfifo(3), coreutils does. */
export async function makeFifo(path: string, mode = "0600"): Promise<void> {
  const result = await execa("mkfifo", ["-m", mode, path], { reject: false });
  if (result.failed && result.code === "ENOENT") {
    throw new HarnessError("MISSING_TOOL", "mkfifo not found on PATH: install coreutils (apt-get install -y coreutils)");
  }
  if (result.failed) {
    // execa's message spans lines (command, then output); mkfifo's own first line says why.
    const why = result.stderr.trim().split("\n")[0] || `exit ${result.exitCode ?? result.signal}`;
    throw new HarnessError("TRIAL_FAILED", `cannot make the gate's FIFO ${path}: ${why}`);
  }
}

/**
 * Removes run dirs whose owner is dead, and the Go build dirs (GO_TMP_PREFIX<pid>-…) of dead
 * harnesses; returns what it removed, described.
 */
export async function removeDeadRunDirs(): Promise<string[]> {
  const root = forensicsTmp();
  const removed: string[] = [];
  for (const name of await readdir(root).catch((): string[] => [])) {
    const goTmp = name.startsWith(GO_TMP_PREFIX) ? /^(\d+)-/.exec(name.slice(GO_TMP_PREFIX.length)) : null;
    const text = goTmp ? goTmp[1]! : await readFile(join(root, name, OWNER_FILE), "utf8").catch(() => null);
    // Only a staging dir lacks its owner file, or holds it still empty (writeFile creates,
    // then writes): a concurrent harness between the two, whose PID would read as 0, dead.
    if (text === null || (name.startsWith(".") && !/^\d+\n$/.test(text))) continue;
    const owner = Number(text);
    if (owner === process.pid || (await isAlive(owner))) continue;
    await rm(join(root, name), { recursive: true, force: true });
    removed.push(`${goTmp ? "Go build dir" : "run dir"} ${join(root, name)} (harness ${owner} dead)`);
  }
  return removed;
}
