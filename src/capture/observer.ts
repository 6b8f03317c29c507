import type { z } from "zod";

// docs/design.md's "observer" (also "attachment"): something on the host that watches one
// trial. strace, the kernel's tracepoints and gdb all implement this one contract, so a
// scenario never knows which of them produced a record, and `--observe` can combine them.

export type ObserverName = "strace" | "kernel" | "gdb";
export const OBSERVER_NAMES: readonly ObserverName[] = ["strace", "kernel", "gdb"];

/** What an observer attaches to: one trial's container, before the gate releases it. */
export interface ObserverTarget {
  /** Host PID of the gate; it execs the command in place, so this PID becomes the program (or the init). */
  gatePid: number;
  /** Host PID of the container's PID 1 (differs from gatePid under docker-init). */
  pid1: number;
  /**
   * Host path of the program's binary as the container sees it (e.g. /proc/<gatePid>/root/probe),
   * for uprobes and symbol lookups; null when the target has no binary of its own we know.
   */
  programPath: string | null;
  /** Signal numbers the scenario drives; an observer may narrow what it records to these (and SIGKILL). */
  signals: number[];
  /** The trial's raw directory: every file the observer writes goes here, under its rawFiles names. */
  dir: string;
  /** Names and labels everything the observer creates, so a dead harness's debris can be found. */
  trialId: string;
  /**
   * Every trial of the run execs the same programPath file (Docker: the image layer's
   * inode, through each container's overlay), so what an observer sets up on it may serve
   * them all until release(). Unset: the file may be new each trial (a copy).
   */
  programShared?: boolean;
  /**
   * The caller attaches again for later trials and calls release() once done: what served
   * this trial may stay for the next (the kernel observer's tracefs instances).
   */
  reuse?: boolean;
}

export interface Attachment<R = unknown> {
  /** How the capture was produced (argv, instance, events, clock…), recorded in runtime.jsonl. */
  describe(): Record<string, unknown>;
  /**
   * Called with each record as it is captured, for observers that stream (the kernel):
   * lets a trial end as soon as its outcome is decided. Observers that only write a file
   * (strace) never call it.
   */
  onRecord?(listener: (record: R) => void): void;
  /** Stops observing and flushes the raw files. Idempotent; leaves the target running. */
  detach(): Promise<void>;
}

export interface Observer<R> {
  readonly name: ObserverName;
  /** One line for `run --help`, `doctor` and `list`. */
  readonly summary: string;
  /** Throws a HarnessError naming the fix when this observer cannot run on this host. */
  needs(): Promise<void>;
  /** Attaches before the gate releases; resolves only once nothing after the release can be missed. */
  attach(target: ObserverTarget): Promise<Attachment<R>>;
  /**
   * Removes what the observer keeps from one trial to the next (the kernel observer's
   * resting instances and a shared program's uprobes): at the end of a run, and before a
   * trial that does not attach this observer. No attachment of it may be live. Ctrl-C runs
   * it through the cleanup registry. Never throws.
   */
  release?(): Promise<void>;
  /** File names (relative to the trial dir) of its raw captures, kept untouched in the bundle. */
  readonly rawFiles: readonly string[];
  /** Pure: raw captures by file name (missing ones absent) → records, nothing dropped. */
  parse(raw: Record<string, string>): R[];
  /** The record schema (zod), validated on write and on every read of a bundle. */
  readonly record: z.ZodType<R>;
  /** One line for the timeline, findings and the TUI. */
  describe(record: R): string;
  /** CLOCK_REALTIME µs of the record, or null when it has no usable stamp. */
  timeUs(record: R): number | null;
  /** Host PID/TID the record is about (the one that acted), or null. */
  pid(record: R): number | null;
}

/** Parses `--observe`: comma-separated observer sets, `+` joining one set's observers, `none` the empty set. */
export function parseObserverSets(value: string, supported: readonly ObserverName[]): ObserverName[][] {
  const sets: ObserverName[][] = [];
  for (const part of value.split(",").map((s) => s.trim())) {
    if (part === "") throw new Error(`empty observer set in "${value}"`);
    if (part === "none") {
      sets.push([]);
      continue;
    }
    const names = part.split("+").map((s) => s.trim());
    for (const name of names) {
      if (!(OBSERVER_NAMES as readonly string[]).includes(name)) throw new Error(`unknown observer "${name}" (known: ${OBSERVER_NAMES.join(", ")}, or none)`);
      if (!supported.includes(name as ObserverName)) throw new Error(`this scenario does not support the ${name} observer (supported: ${supported.join(", ")})`);
    }
    sets.push([...new Set(names as ObserverName[])].sort((a, b) => OBSERVER_NAMES.indexOf(a) - OBSERVER_NAMES.indexOf(b)));
  }
  const keys = new Set<string>();
  return sets.filter((s) => {
    const key = observerSetKey(s);
    if (keys.has(key)) return false;
    keys.add(key);
    return true;
  });
}

/** `none`, `kernel`, `strace+kernel`: how a set is named in flags, bundles and summaries. */
export const observerSetKey = (set: readonly ObserverName[]): string => (set.length === 0 ? "none" : set.join("+"));
