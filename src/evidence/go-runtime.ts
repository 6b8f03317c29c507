import type { GdbRecord, GdbRecordOf } from "../parse/gdb-records.js";
import type { GdbValue } from "../parse/gdb-value.js";

// The Go runtime's signal state and stacks, read from parsed gdb records (pure). What
// exists on go1.26 and go1.27 (runtime/sigqueue.go, os/signal/signal.go, runtime/runtime2.go):
//   'runtime.sig'          {note, mask, wanted, ignored, recv: [3]uint32, state, delivering: atomic.Uint32, inuse: bool}
//   'os/signal.handlers'   {Mutex, m: map, ref: [65]int64, stopping: slice}
//   g.stack {lo, hi}, g.m.g0.stack, g.m.gsignal.stack, g.m.procid (the thread's TID as the
//   program sees it: in a container that is its PID namespace's number, not gdb's host LWP)
// There is no `runtime.sighandlers` symbol (claim S4 names one that never existed).

/** A snapshot's process-wide reads, in order; the first one also tells whether there is DWARF. */
export const RUNTIME_READS = ["p 'runtime.sig'", "p 'os/signal.handlers'"] as const;

/**
 * A snapshot's reads on each thread. The current g sits in TLS just below the fs base on
 * linux/amd64 (runtime/go_tls.h, `MOVQ -8(FS), g`); the cast needs `set language c`, as
 * gdb's Go expression parser does not take `**`. On g0 or gsignal, $gp is that g itself.
 */
export const THREAD_READS = [
  "info registers rsp fs_base",
  "set $gp = *('runtime.g' **)($fs_base - 8)",
  "p $gp->goid",
  "p $gp->stack",
  "p $gp->m->procid",
  "p $gp->m->g0->stack",
  "p $gp->m->gsignal->stack",
] as const;

/** Splits a transcript's records into its snapshots: the runs of the snapshot's own commands, from `info threads` and the first runtime read on. */
export function splitSnapshots(records: readonly GdbRecord[]): GdbRecord[][] {
  const own = (c: string): boolean =>
    c === "info threads" || c === "set language c" || c === "set language auto" || /^thread \d+$/.test(c) || (RUNTIME_READS as readonly string[]).includes(c) || (THREAD_READS as readonly string[]).includes(c);
  const commandAt = (i: number): string | null => {
    const r = records[i];
    return r?.kind === "command" ? r.command : null;
  };
  const snapshots: GdbRecord[][] = [];
  for (let i = 0; i < records.length; i++) {
    if (commandAt(i) !== "info threads") continue;
    const next = records.findIndex((r, k) => k > i && r.kind === "command");
    if (next < 0 || commandAt(next) !== RUNTIME_READS[0]) continue;
    let end = next + 1;
    while (end < records.length && (records[end]!.kind !== "command" || own(commandAt(end)!)) && commandAt(end) !== "info threads") end++;
    snapshots.push(records.slice(i, end));
    i = end - 1;
  }
  return snapshots;
}

/** Linux signal numbers 1–31 (asm-generic and x86; Go's runtime/sigtab_linux_generic.go). */
const SIGNAL_NAMES = [
  "",
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
];

/** A signal's name; real-time signals (32–64) have none of their own, glibc reserves 32 and 33. */
export const signalName = (n: number): string => SIGNAL_NAMES[n] ?? `SIG${n}`;

/** runtime/sigqueue.go: bit (n mod 32) of word n/32 stands for signal n. */
export function decodeSigMask(words: readonly number[]): string[] {
  const names: string[] = [];
  words.forEach((word, w) => {
    for (let bit = 0; bit < 32; bit++) if ((word >>> bit) & 1) names.push(signalName(w * 32 + bit));
  });
  return names;
}

/** sigqueue.go's sig.state values. */
const SIG_STATES = ["idle", "receiving", "sending"] as const;

export interface SigQueueState {
  /** Signals sent by the handler and not yet taken by os/signal's loop (standard signals coalesce here). */
  mask: string[];
  /** Signals a Notify subscribed to. */
  wanted: string[];
  /** Signals ignored with signal.Ignore or inherited as SIG_IGN. */
  ignored: string[];
  /** Signals taken from mask that signal_recv has not returned yet. */
  recv: string[];
  state: (typeof SIG_STATES)[number] | number;
  delivering: number;
  inuse: boolean;
}

export type StackRegion = "g0" | "gsignal" | "goroutine" | "none";

export interface Range {
  lo: number | string;
  hi: number | string;
}

export interface GoThreadState {
  /** gdb's thread number. */
  thread: number;
  lwp: number | null;
  rsp: string | null;
  goid: number | null;
  /** The current g's stack (on g0 or gsignal this is that stack itself). */
  stack: Range | null;
  g0: Range | null;
  gsignal: Range | null;
  /** gettid() inside the program's PID namespace (1 for a container's PID 1), while lwp is the host's. */
  procid: number | null;
  /** Where $rsp is: on the M's g0 stack, its signal stack, or the goroutine's stack. */
  on: StackRegion;
}

export type GoRuntimeReading =
  | { kind: "no-dwarf"; reason: string }
  | {
      kind: "read";
      /** null when the transcript has no `p 'runtime.sig'` or gdb refused it. */
      sig: SigQueueState | null;
      /** Subscriptions per signal from 'os/signal.handlers'.ref (non-zero entries only). */
      handlers: Record<string, number> | null;
      threads: GoThreadState[];
      /** Why a part could not be read (a refused command, a value of an unexpected shape). */
      problems: string[];
    };

export const NO_DWARF = "no DWARF: cannot read runtime state (the binary was built with -ldflags=-s -w or stripped)";

/** Reads the Go runtime state from the records of one snapshot (capture/gdb-snapshot.ts, or a pasted transcript). */
export function readGoRuntime(records: readonly GdbRecord[]): GoRuntimeReading {
  // Once the target is gone gdb prints the executable file's initial data instead (all
  // zeros, inuse = false): nothing after an exit describes the process.
  const exit = records.findIndex((r) => r.kind === "exited");
  const live = exit < 0 ? records : records.slice(0, exit);
  const errors = live.filter((r): r is GdbRecordOf<"error"> => r.kind === "error");
  if (errors.some((e) => /^No symbol table is loaded/.test(e.text))) return { kind: "no-dwarf", reason: NO_DWARF };
  const problems = errors.map((e) => `${e.command ?? "?"}: ${e.text}`);
  if (exit >= 0) problems.push("the target exited: what gdb printed after that comes from the executable file and is ignored");
  const values = live.filter((r): r is GdbRecordOf<"value"> => r.kind === "value");
  // Pasted text often lacks the command lines: then the struct's shape names it.
  const last = (expr: string, fields: string[]): GdbRecordOf<"value"> | undefined =>
    [...values].reverse().find((v) => v.expr === expr || (v.expr === null && isRecord(v.value) && fields.every((f) => f in (v.value as object))));

  const sigValue = last("'runtime.sig'", ["mask", "wanted", "ignored", "recv"]);
  const sig = sigValue ? readSigQueue(sigValue.value) : null;
  if (sigValue && !sig) problems.push(`'runtime.sig' has an unexpected shape`);
  const handlersValue = last("'os/signal.handlers'", ["Mutex", "ref"]);
  const handlers = handlersValue ? readHandlerRefs(handlersValue.value) : null;
  if (handlersValue && !handlers) problems.push(`'os/signal.handlers' has an unexpected shape`);
  return { kind: "read", sig, handlers, threads: readThreads(live), problems };
}

export function readSigQueue(value: GdbValue): SigQueueState | null {
  if (!isRecord(value)) return null;
  const words = (v: GdbValue | undefined): number[] | null =>
    Array.isArray(v) && v.every((w): w is number => typeof w === "number") ? v : null;
  const [mask, wanted, ignored, recv] = [value.mask, value.wanted, value.ignored, value.recv].map(words);
  // state and delivering are atomic.Uint32: {noCopy, value}.
  const state = atomicValue(value.state);
  const delivering = atomicValue(value.delivering);
  if (!mask || !wanted || !ignored || !recv || state === null || delivering === null || typeof value.inuse !== "boolean") return null;
  return {
    mask: decodeSigMask(mask),
    wanted: decodeSigMask(wanted),
    ignored: decodeSigMask(ignored),
    recv: decodeSigMask(recv),
    state: SIG_STATES[state] ?? state,
    delivering,
    inuse: value.inuse,
  };
}

/** os/signal's handlers.ref[n]: how many Notify channels want signal n. */
export function readHandlerRefs(value: GdbValue): Record<string, number> | null {
  if (!isRecord(value) || !Array.isArray(value.ref)) return null;
  const out: Record<string, number> = {};
  value.ref.forEach((count, n) => {
    if (typeof count === "number" && count !== 0) out[signalName(n)] = count;
  });
  return out;
}

/**
 * Per thread, the registers and values printed while gdb was on it: `info registers rsp`
 * and the snapshot's `p $gp->…` reads, where $gp is the g in the thread's TLS.
 */
function readThreads(records: readonly GdbRecord[]): GoThreadState[] {
  const lwps = new Map<number, number>();
  const byThread = new Map<number, { rsp: string | null; values: Map<string, GdbValue> }>();
  const entry = (t: number) => {
    let e = byThread.get(t);
    if (!e) byThread.set(t, (e = { rsp: null, values: new Map() }));
    return e;
  };
  for (const r of records) {
    if (r.kind === "threads") for (const t of r.threads) if (t.lwp !== null) lwps.set(t.id, t.lwp);
    if (r.kind === "thread-event" && r.thread !== null && r.lwp !== null) lwps.set(r.thread, r.lwp);
    if (r.kind === "registers" && r.thread !== null && r.registers.rsp !== undefined) entry(r.thread).rsp = r.registers.rsp;
    if (r.kind === "value" && r.thread !== null && r.expr?.startsWith("$gp")) entry(r.thread).values.set(r.expr, r.value);
  }
  // A thread counts once its rsp and at least one of its stacks were read.
  return [...byThread.entries()]
    .filter(([, e]) => e.rsp !== null && e.values.size > 0)
    .sort(([a], [b]) => a - b)
    .map(([thread, e]) => {
      const stack = range(e.values.get("$gp->stack"));
      const g0 = range(e.values.get("$gp->m->g0->stack"));
      const gsignal = range(e.values.get("$gp->m->gsignal->stack"));
      const goid = e.values.get("$gp->goid");
      const procid = e.values.get("$gp->m->procid");
      return {
        thread,
        lwp: lwps.get(thread) ?? null,
        rsp: e.rsp,
        goid: typeof goid === "number" ? goid : null,
        stack,
        g0,
        gsignal,
        procid: typeof procid === "number" ? procid : null,
        on: stackRegion(e.rsp, { g0, gsignal, stack }),
      };
    });
}

/**
 * Which stack $rsp is on. g0 and gsignal are checked first: on them the current g *is*
 * g0 or gsignal, so its own stack equals theirs and "goroutine" means a user goroutine's.
 */
export function stackRegion(rsp: string | null, ranges: { g0: Range | null; gsignal: Range | null; stack: Range | null }): StackRegion {
  if (rsp === null) return "none";
  const sp = BigInt(rsp);
  const within = (r: Range | null): boolean => r !== null && BigInt(r.lo) <= sp && sp < BigInt(r.hi);
  if (within(ranges.gsignal)) return "gsignal";
  if (within(ranges.g0)) return "g0";
  if (within(ranges.stack)) return "goroutine";
  return "none";
}

function range(v: GdbValue | undefined): Range | null {
  if (!isRecord(v)) return null;
  const ok = (x: GdbValue | undefined): x is number | string => typeof x === "number" || (typeof x === "string" && /^(?:0x[0-9a-f]+|\d+)$/i.test(x));
  return ok(v.lo) && ok(v.hi) ? { lo: v.lo, hi: v.hi } : null;
}

function atomicValue(v: GdbValue | undefined): number | null {
  if (typeof v === "number") return v;
  return isRecord(v) && typeof v.value === "number" ? v.value : null;
}

const isRecord = (v: GdbValue | undefined): v is { [k: string]: GdbValue } => typeof v === "object" && v !== null && !Array.isArray(v);
