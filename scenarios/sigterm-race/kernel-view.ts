import type { KernelRecord } from "../../src/parse/kernel-records.js";

// The race's instants as the kernel observer saw them, without ptrace: the program's exec
// (sched_process_exec of its path), Go's SIGTERM handler install (the runtime.setsig uprobe
// names the handler; the rt_sigaction that follows is the install itself), and Notify (the
// os/signal.Notify uprobe, the only trace Notify leaves: it makes no syscall).

const SIGTERM = 15;

export interface KernelRace {
  /** Index and pid of the program's exec (the last one of its path: under an init, the child's). */
  exec: { index: number; pid: number } | null;
  /** The install: when its rt_sigaction started and returned (realtime µs), and the record that shows it. */
  handler: { startUs: number; doneUs: number; index: number } | null;
  /** When os/signal.Notify was entered (realtime µs). */
  notify: { us: number; index: number } | null;
}

export function readKernelRace(records: readonly KernelRecord[], programPath: string): KernelRace {
  let exec: KernelRace["exec"] = null;
  records.forEach((r, index) => {
    if (r.kind === "exec" && r.filename === programPath) exec = { index, pid: r.execPid };
  });
  if (exec === null) return { exec, handler: null, notify: null };
  const { index: from, pid } = exec;

  let handler: KernelRace["handler"] = null;
  let notify: KernelRace["notify"] = null;
  let setsigSeen = false;
  // Without uprobes (a stripped binary) the first SIGTERM rt_sigaction with a new action
  // after the exec is Go's install: its runtime never sets SIG_DFL for SIGTERM at start.
  const uprobes = records.some((x) => x.kind === "header" && Array.isArray(x.info.uprobes) && x.info.uprobes.length > 0);
  let enter: { us: number; index: number } | null = null;
  for (let i = from + 1; i < records.length; i++) {
    const r = records[i]!;
    if (r.tsUs === null) continue;
    if (r.kind === "uprobe" && r.fn === "os/signal.Notify" && notify === null) notify = { us: r.tsUs, index: i };
    if (handler !== null || r.pid !== pid) continue;
    if (r.kind === "uprobe" && r.fn === "runtime.setsig" && r.args.sig === SIGTERM && !isDefault(r.args.handler)) setsigSeen = true;
    if (r.kind === "syscall-enter" && r.syscall === "rt_sigaction" && sigOf(r.args.sig) === SIGTERM && r.args.act !== "0" && (setsigSeen || !uprobes)) {
      enter = { us: r.tsUs, index: i };
    } else if (enter !== null && r.kind === "syscall-exit" && r.syscall === "rt_sigaction") {
      handler = { startUs: enter.us, doneUs: r.tsUs, index: enter.index };
    }
  }
  return { exec, handler, notify };
}

const sigOf = (v: string | undefined): number => (v === undefined ? NaN : Number(v));
const isDefault = (handler: number | string | undefined): boolean => handler === undefined || Number(handler) <= 1;
