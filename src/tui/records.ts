import type { RecordSource, TrialEvidence } from "../evidence/schemas.js";
import { signalName as parseSignalName, signalNumber } from "../parse/signals.js";

// The replay reads records of every observer through these few accessors, so a record kind
// it has never seen (a newer observer's) still shows: its fields, its time, its raw line.
// Kernel kinds (signal-generate, signal-deliver, exec, fork, exit, uprobe, syscall-enter/exit)
// follow src/parse/kernel-records.ts on the kernel branch; gdb records are shown generically.

/** Any record of any source: a kind and whatever fields its observer's schema gives it. */
export type AnyRecord = { kind: string } & Record<string, unknown>;

export const SOURCES: readonly RecordSource[] = ["strace", "kernel", "gdb", "probe", "runtime"];

export function recordOf(trial: TrialEvidence, source: RecordSource, index: number): AnyRecord | undefined {
  const list = (trial.records as Record<string, unknown[] | undefined>)[source];
  return list?.[index] as AnyRecord | undefined;
}

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

/** Signal name a record is about (SIGTERM), from whichever field its observer uses. */
export function signalNameOf(r: AnyRecord): string | null {
  if (r.kind === "signal" || r.kind === "killed") return str(r.signal);
  if (r.kind === "signal-generate" || r.kind === "signal-deliver") return str(r.signal) ?? (num(r.sig) !== null ? signalName(num(r.sig)!) : null);
  if (r.kind === "syscall") {
    const s = (r.args as string[] | undefined)?.find((a) => /^SIG[A-Z0-9+]+$/.test(a));
    return s ?? null;
  }
  if (r.kind === "uprobe") {
    const sig = num((r.args as Record<string, unknown> | undefined)?.sig);
    return sig === null ? null : signalName(sig);
  }
  if (r.kind === "probe") {
    const f = (r.fields ?? {}) as Record<string, unknown>;
    if (typeof f.name === "string") return f.name;
    if (typeof f.signal === "number") return signalName(f.signal);
    if (typeof f.signal === "string") return f.signal;
  }
  return null;
}

/** The name strace and the kernel parser use (parse/signals.ts), or "signal N" outside 1..64. */
export const signalName = (n: number): string => parseSignalName(n) ?? `signal ${n}`;

/** The raw line as captured when the record carries it (kernel records, unparsed lines). */
export function rawLineOf(r: AnyRecord): string | null {
  return str(r.line);
}

/** A record's own fields, for the detail pane, in its schema's order, without the bulky ones. */
export function fieldsOf(r: AnyRecord): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(r)) {
    if (k === "line" && r.kind !== "unparsed") continue;
    if (k === "fields" && typeof v === "object" && v !== null) {
      for (const [fk, fv] of Object.entries(v)) out.push([`.${fk}`, typeof fv === "string" ? fv : JSON.stringify(fv)]);
      continue;
    }
    out.push([k, typeof v === "string" ? v : JSON.stringify(v)]);
  }
  return out;
}

/** A decoded reading of a printed syscall argument, where one helps: signal numbers, signal sets. */
export function decodeArg(role: string | undefined, value: string): string | null {
  if (role === "signal") {
    const n = /^\d+$/.test(value) ? Number(value) : signalNumber(value);
    return n === null ? null : `signal ${n} = ${signalName(n)}`;
  }
  if (role === "sigset") {
    const m = /^(~)?\[(.*)\]$/.exec(value.trim());
    if (!m) return null;
    const names = m[2]!.split(/\s+/).filter(Boolean);
    const what = names.length === 0 ? "no signal" : names.map((n) => (n.startsWith("SIG") ? n : `SIG${n}`)).join(", ");
    return m[1] ? `every signal except ${what}` : `{${what}}`;
  }
  if (role === "fd") {
    const m = /^(-?\d+)<(.*)>$/.exec(value);
    return m ? `fd ${m[1]} → ${m[2]}` : null;
  }
  return null;
}
