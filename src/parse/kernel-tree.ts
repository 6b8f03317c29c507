import type { KernelRecord } from "./kernel-records.js";

// signal_generate runs in the sender's context, so the kernel observer records it in an
// instance filtered on signal numbers only, where every SIGTERM of the host lands. What
// belongs to a trial is what targets its process tree: its root PIDs and every task they
// forked (Go's threads included), as the tree's own sched_process_fork records say.

export interface TrialTree {
  has(pid: number): boolean;
  /** Learns from one record (a fork adds its child); returns whether the record is the trial's. */
  admit(record: KernelRecord): boolean;
}

export function createTrialTree(roots: readonly number[]): TrialTree {
  const pids = new Set(roots);
  return {
    has: (pid) => pids.has(pid),
    admit(record) {
      if (record.kind === "fork" && pids.has(record.parentPid)) pids.add(record.childPid);
      if (record.kind === "signal-generate") return pids.has(record.targetPid);
      return true;
    },
  };
}

/**
 * The records of one trial: every record but the signal generations aimed outside its
 * tree. Forks are learnt first, so a signal to a child counts wherever its line sits.
 */
export function selectTrialRecords(records: readonly KernelRecord[], roots: readonly number[]): KernelRecord[] {
  const tree = createTrialTree(roots);
  for (const r of records) if (r.kind === "fork") tree.admit(r);
  return records.filter((r) => tree.admit(r));
}

/** The root PIDs a capture's header names (`rootPids`), from any of its records; [] when none. */
export function rootPidsOf(records: readonly KernelRecord[]): number[] {
  for (const r of records) {
    if (r.kind !== "header") continue;
    const roots = r.info.rootPids;
    if (Array.isArray(roots)) return roots.filter((p): p is number => Number.isInteger(p));
  }
  return [];
}
