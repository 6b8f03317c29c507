import type { KernelRecord, KernelRecordOf } from "../../src/parse/kernel-records.js";

// A user's program shows no probe events: what a signal scenario knows of it comes from
// the kernel observer — its exec, its exit, and the uprobes on Go's runtime where its
// binary has a symbol table. These read that much from a trial's kernel records (pure).

/** The program's exec (the last one of its path: under an init, the child's); null when unseen. */
export function programExec(records: readonly KernelRecord[], programPath: string): { index: number; pid: number } | null {
  let found: { index: number; pid: number } | null = null;
  records.forEach((r, index) => {
    if (r.kind === "exec" && r.filename === programPath) found = { index, pid: r.execPid };
  });
  return found;
}

/** The end of the process pid (its thread-group leader's sched_process_exit); null when unseen. */
export function processExit(records: readonly KernelRecord[], pid: number): { index: number; record: KernelRecordOf<"exit"> } | null {
  for (let index = 0; index < records.length; index++) {
    const r = records[index]!;
    if (r.kind === "exit" && r.exitPid === pid && r.tsUs !== null) return { index, record: r };
  }
  return null;
}

/**
 * What the kernel observer could probe in the program: the Go functions it put uprobes on,
 * and why not the others (no symbol table, not Go). `observed` is false without a kernel
 * capture at all.
 */
export function uprobeCoverage(records: readonly KernelRecord[]): { observed: boolean; functions: Set<string>; note: string | null } {
  const functions = new Set<string>();
  let note: string | null = null;
  let observed = false;
  for (const r of records) {
    if (r.kind !== "header") continue;
    observed = true;
    if (Array.isArray(r.info.uprobes)) for (const u of r.info.uprobes as { fn?: unknown }[]) if (typeof u.fn === "string") functions.add(u.fn);
    if (typeof r.info.uprobesNote === "string") note ??= r.info.uprobesNote;
  }
  return { observed, functions, note };
}

/** The uprobe hits of fn (with sig, when given), in order. */
export function uprobeHits(records: readonly KernelRecord[], fn: string, sig?: number): { index: number; record: KernelRecordOf<"uprobe"> }[] {
  const out: { index: number; record: KernelRecordOf<"uprobe"> }[] = [];
  records.forEach((r, index) => {
    if (r.kind === "uprobe" && r.fn === fn && r.tsUs !== null && (sig === undefined || r.args.sig === sig)) out.push({ index, record: r });
  });
  return out;
}
