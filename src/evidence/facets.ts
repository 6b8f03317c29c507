import type { RecordSource } from "./schemas.js";

// What a record is, in the few words a timeline filters on: its kind, the syscall it is
// about, its errno, and whether it is a failure, a signal moment or an exit. Computed from
// records of every observer through these accessors, so a kind nothing here knows (a newer
// observer's) still gets a row. The writer stores them in a trial's timeline columns, so a
// replay filters a million rows without parsing a record.

/** Any record of any source: a kind and whatever fields its observer's schema gives it. */
export type AnyRecord = { kind: string } & Record<string, unknown>;

/** The sources in their stored order: a timeline column holds a source as its index here. */
export const SOURCES: readonly RecordSource[] = ["strace", "kernel", "gdb", "probe", "runtime"];

/** Bits of a timeline row's facet flags. */
export const FACET = { failed: 1, signal: 2, exit: 4 } as const;

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** The filterable kind: the record's own, or `event:<ev>` for probe/runtime events. */
export function kindLabel(source: RecordSource, r: AnyRecord): string {
  if (r.kind === "probe") return `${source === "runtime" ? "harness" : "event"}:${String(r.ev)}`;
  return r.kind;
}

/** The syscall a record is about, if any. */
export function syscallOf(r: AnyRecord): string | null {
  return r.kind === "syscall" || r.kind === "syscall-enter" || r.kind === "syscall-exit" ? str(r.syscall) : null;
}

/** The errno of a failed call: strace's name (EINTR), or the kernel's negative return decoded to its number. */
export function errnoOf(r: AnyRecord): string | null {
  if (r.kind === "syscall") return str(r.errno);
  if (r.kind === "syscall-exit") {
    const ret = str(r.ret);
    if (ret && /^0xfffffffffffff[0-9a-f]{3}$/i.test(ret)) return `-${(0x1000 - parseInt(ret.slice(-3), 16)).toString()}`;
  }
  return null;
}

/** A failure: a call returning an error, a process killed by a signal, a non-zero exit, an unparsed line. */
export function isFailure(r: AnyRecord): boolean {
  if (errnoOf(r) !== null) return true;
  if (r.kind === "error") return true; // gdb refused a command
  if (r.kind === "killed" || r.kind === "lost") return true;
  if (r.kind === "exit") return (num(r.exitCode) ?? 0) !== 0;
  if (r.kind === "probe") {
    const f = (r.fields ?? {}) as Record<string, unknown>;
    if (r.ev === "exit") return (num(f.code) ?? 0) !== 0 || (f.signal !== undefined && f.signal !== null);
    if (r.ev === "deadline-kill" || r.ev === "error") return true;
  }
  return false;
}

const SIGNAL_SYSCALLS = new Set(["kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_send_signal"]);
const SIGNAL_FUNCS = /sighandler|sigsend|signal[._]process|dieFromSignal|signal_recv/;

/** A signal moment: sent, generated, delivered, handled, reported. */
export function isSignal(r: AnyRecord): boolean {
  switch (r.kind) {
    case "signal":
    case "killed":
    case "signal-generate":
    case "signal-deliver":
      return true;
    case "syscall":
    case "syscall-enter":
      return SIGNAL_SYSCALLS.has(String(r.syscall));
    case "uprobe":
      return SIGNAL_FUNCS.test(`${String(r.fn ?? "")} ${String(r.event ?? "")}`);
    case "signal-stop": // gdb stopped on a signal
      return true;
    case "breakpoint-hit":
      return SIGNAL_FUNCS.test(String(r.func ?? ""));
    case "probe":
      return r.ev === "signal" || r.ev === "driver" || r.ev === "deadline-kill";
    default:
      return false;
  }
}

export function isExit(r: AnyRecord): boolean {
  return r.kind === "exit" || r.kind === "killed" || (r.kind === "probe" && r.ev === "exit");
}

/** The facet flags of a record (FACET bits). */
export function facetFlags(r: AnyRecord): number {
  return (isFailure(r) ? FACET.failed : 0) | (isSignal(r) ? FACET.signal : 0) | (isExit(r) ? FACET.exit : 0);
}
