// The kernel observer's uprobes on a trial's program, and how long they live.
//
// Disabling a uprobe event that nothing else has enabled unregisters the uprobe, and the
// kernel then waits out a grace period under tracefs's event mutex: 30–77 ms per uprobe
// measured on Linux 6.18, ~280 ms of the ~430 ms a trial's detach took, every trial. So
// where every trial of a run execs the same file, the uprobes are defined once for the
// run, and the run's instance pair (kernel-instances.ts), resting between trials with its
// events on, keeps them registered until the run releases both.
//
// "The same file" is the inode the kernel resolved when the uprobe was defined. Under
// Docker each container sees the image layer's file through its own overlay mount: the
// same inode number (st_dev differs by mount), the same bytes. A runtime that copies the
// program for every trial (the namespace runtime) gives a new inode each time — one that
// may even reuse a number freed a moment ago — so it does not ask for sharing, and its
// trials define and remove their own uprobes as before.

import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { isHarnessError } from "../errors.js";
import { onCleanup } from "../cleanup.js";
import { hostGoArch } from "../probe/go-toolchain.js";
import { planGoUprobes, type PlannedUprobe, type UprobePlan } from "./kernel-uprobes.js";
import { addUprobe, removeUprobe, UPROBE_GROUP_PREFIX } from "./tracefs.js";

export interface UprobeSet extends UprobePlan {
  /** The uprobe group, null when the set is empty. */
  group: string | null;
  /** The run's, for all its trials of this program file (defined by the first). */
  shared: boolean;
}

type Undo = () => Promise<void>;

interface Kept {
  root: string;
  set: UprobeSet;
}

let groups = 0;
/** Shared sets by program identity (inode number and content hash). */
const kept = new Map<string, Promise<Kept>>();
let forgetCleanup: (() => void) | null = null;

/**
 * The uprobes for one trial's program. `shared` says the runtime runs every trial from the
 * same file: the set is then the run's, made on first use and removed by releaseUprobeSets.
 * Otherwise the set is the trial's own, and `undo` gets its removal.
 */
export async function acquireUprobes(root: string, programPath: string | null, shared: boolean, undo: Undo[]): Promise<UprobeSet> {
  if (programPath === null) return empty("no uprobes: the target has no program binary of its own");
  let bytes: Buffer;
  let ino = 0;
  try {
    // The inode number only keys a shared set.
    [bytes, ino] = await Promise.all([readFile(programPath), shared ? stat(programPath).then((st) => st.ino) : 0]);
  } catch (err) {
    return empty(`no uprobes: cannot read ${programPath} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (!shared) {
    const set = planSet(bytes, programPath, false);
    for (const u of set.uprobes) {
      await addUprobe(root, u);
      undo.push(() => removeUprobe(root, u.group, u.event));
    }
    return set;
  }
  const key = `${ino}:${createHash("sha256").update(bytes).digest("hex")}`;
  let entry = kept.get(key);
  if (entry === undefined) {
    entry = keep(root, planSet(bytes, programPath, true));
    kept.set(key, entry);
    entry.catch(() => kept.delete(key));
  }
  return (await entry).set;
}

/**
 * Registers the shared sets' removal with the cleanup registry, once. Call it before an
 * attachment that may use a shared set registers its own undo: Ctrl-C runs the newest
 * first, and a uprobe still enabled in the trial's instance cannot be removed.
 */
export function guardUprobeSets(): void {
  forgetCleanup ??= onCleanup(releaseUprobeSets);
}

/** Removes every shared set: once the run's last trial has detached, and on Ctrl-C. */
export async function releaseUprobeSets(): Promise<void> {
  const entries = [...kept.values()];
  kept.clear();
  forgetCleanup?.();
  forgetCleanup = null;
  for (const entry of entries) {
    const k = await entry.catch(() => null);
    if (k !== null) await drop(k);
  }
}

function planSet(bytes: Buffer, programPath: string, shared: boolean): UprobeSet {
  const group = `${UPROBE_GROUP_PREFIX}${process.pid}_${groups++}`;
  let plan: UprobePlan;
  try {
    plan = planGoUprobes(bytes, programPath, group, hostGoArch());
  } catch (err) {
    if (!isHarnessError(err)) throw err;
    plan = { uprobes: [], note: `no uprobes: ${err.message}` };
  }
  return { ...plan, group: plan.uprobes.length > 0 ? group : null, shared: shared && plan.uprobes.length > 0 };
}

const empty = (note: string): UprobeSet => ({ uprobes: [], note, group: null, shared: false });

async function keep(root: string, set: UprobeSet): Promise<Kept> {
  guardUprobeSets();
  const defined: PlannedUprobe[] = [];
  try {
    for (const u of set.uprobes) {
      await addUprobe(root, u);
      defined.push(u);
    }
    return { root, set };
  } catch (err) {
    await drop({ root, set: { ...set, uprobes: defined } });
    throw err;
  }
}

/** Removes a set's uprobes; the instances that enabled them must be gone (else EBUSY, retried). */
async function drop(k: Kept): Promise<void> {
  for (const u of k.set.uprobes) await removeUprobe(k.root, u.group, u.event);
}
