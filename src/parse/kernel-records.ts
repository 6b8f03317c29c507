import { z } from "zod";

// Records of the kernel observer: one per line of a tracefs `trace`/`trace_pipe` capture.
// Fields keep the kernel's own names and values as its print formats show them
// (/sys/kernel/tracing/events/<system>/<event>/format, Linux 6.x); where the kernel prints
// a number, the record holds a number, and where it prints hex for an address, a string.

const base = {
  /** The acting task (common_pid, from the line's `comm-PID` column), host PID namespace; null for lines without one. */
  pid: z.number().int().nullable(),
  /** The acting task's comm as the line shows it (`<...>` when tracefs had not recorded it). */
  comm: z.string().nullable(),
  cpu: z.number().int().nullable(),
  /** The trace clock's stamp as printed, in seconds (the instance's clock: mono for captures of ours). */
  ts: z.number().nullable(),
  /** The same instant on CLOCK_REALTIME, integer µs; null when the capture has no clock marker mapping its clock. */
  tsUs: z.number().int().nullable(),
  /** The raw line, exactly. */
  line: z.string(),
};

/** `# forensics kernel observer: {json}`: how the capture was made (instance, clock, events, filters, uprobes). */
export const KernelHeader = z.object({ kind: z.literal("header"), ...base, info: z.record(z.string(), z.unknown()) });

/** sched_process_exec: the task `execPid` (formerly `oldPid`, when a non-leader thread exec'd) now runs `filename`. */
export const KernelExec = z.object({
  kind: z.literal("exec"),
  ...base,
  filename: z.string(),
  execPid: z.number().int(),
  oldPid: z.number().int(),
});

/** sched_process_fork: also fires for every thread a process creates (clone with CLONE_THREAD). */
export const KernelFork = z.object({
  kind: z.literal("fork"),
  ...base,
  parentComm: z.string(),
  parentPid: z.number().int(),
  childComm: z.string(),
  childPid: z.number().int(),
});

/** sched_process_exit, one per exiting task (thread); `groupDead` is true for the last one of its process. */
export const KernelExit = z.object({
  kind: z.literal("exit"),
  ...base,
  exitComm: z.string(),
  exitPid: z.number().int(),
  prio: z.number().int(),
  /** Printed by kernels since 6.x (group_dead=true|false); null when the line does not say. */
  groupDead: z.boolean().nullable(),
});

/** include/trace/events/signal.h's enum trace_signal_result, in its order (0..4). */
export const SIGNAL_RESULTS = ["delivered", "ignored", "already-pending", "overflow", "lose-info"] as const;
export const SignalResultName = z.enum(SIGNAL_RESULTS);
export type SignalResultName = z.infer<typeof SignalResultName>;

/**
 * signal_generate: logged in the SENDER's context (the acting pid is whoever sent: our
 * driver, containerd-shim, the kernel), about the target `targetPid`.
 */
export const KernelSignalGenerate = z.object({
  kind: z.literal("signal-generate"),
  ...base,
  sig: z.number().int(),
  /** "SIGTERM"; null for a number outside 1..64. */
  signal: z.string().nullable(),
  errno: z.number().int(),
  /** si_code: 0 SI_USER (kill), -6 SI_TKILL (tgkill), 128 SI_KERNEL, … */
  code: z.number().int(),
  targetComm: z.string(),
  targetPid: z.number().int(),
  /** grp=1: sent to the whole thread group (kill), 0: to one thread (tgkill). */
  group: z.boolean(),
  result: z.number().int(),
  /** null for a result number this table does not know. */
  resultName: SignalResultName.nullable(),
});

/** signal_deliver: in the receiving thread, as the kernel sets up the handler (or acts on SIG_DFL). */
export const KernelSignalDeliver = z.object({
  kind: z.literal("signal-deliver"),
  ...base,
  sig: z.number().int(),
  signal: z.string().nullable(),
  errno: z.number().int(),
  code: z.number().int(),
  /** Hex as printed, without 0x: "0" is SIG_DFL, "1" SIG_IGN, anything else a handler's address. */
  saHandler: z.string(),
  saFlags: z.string(),
});

/** sys_enter_<name>: `sys_rt_sigaction(sig: 0xf, act: 0x7ff…, oact: 0, sigsetsize: 8)`. */
export const KernelSyscallEnter = z.object({
  kind: z.literal("syscall-enter"),
  ...base,
  syscall: z.string(),
  /** Arguments by name, values as printed (the kernel prints small ones in decimal, others as 0x…). */
  args: z.record(z.string(), z.string()),
});

/** sys_exit_<name>: `sys_rt_sigaction -> 0x0`. */
export const KernelSyscallExit = z.object({
  kind: z.literal("syscall-exit"),
  ...base,
  syscall: z.string(),
  /** As printed: "0x0", "0xfffffffffffffff2" (a negative errno). */
  ret: z.string(),
});

/** A uprobe hit: `sighandler: (0x460e40) sig=15`. */
export const KernelUprobe = z.object({
  kind: z.literal("uprobe"),
  ...base,
  event: z.string(),
  /** The function the probe stands for (from the capture's header), e.g. "runtime.sighandler"; null when unknown. */
  fn: z.string().nullable(),
  /** The probed address as printed. */
  addr: z.string(),
  /** Fetched arguments; decimal values as numbers, anything else (0x…, strings) as printed. */
  args: z.record(z.string(), z.union([z.number(), z.string()])),
});

/** A trace_marker write; the harness's own clock markers carry realtimeNs. */
export const KernelMarker = z.object({
  kind: z.literal("marker"),
  ...base,
  text: z.string(),
  /** For `forensics-clock realtime_ns=<N>` markers: N, decimal (too big for a JS number). */
  realtimeNs: z.string().nullable(),
  /** For markers that also carry `mono_ns=<M>` (older captures' markers do not): the CLOCK_MONOTONIC instant N was read at, decimal. */
  monoNs: z.string().optional(),
});

/** `CPU:1 [LOST 42 EVENTS]`: the ring buffer overflowed before the reader caught up. */
export const KernelLost = z.object({ kind: z.literal("lost"), ...base, lostEvents: z.number().int() });

export const KernelUnparsed = z.object({ kind: z.literal("unparsed"), ...base, reason: z.string() });

export const KernelRecord = z.discriminatedUnion("kind", [
  KernelHeader,
  KernelExec,
  KernelFork,
  KernelExit,
  KernelSignalGenerate,
  KernelSignalDeliver,
  KernelSyscallEnter,
  KernelSyscallExit,
  KernelUprobe,
  KernelMarker,
  KernelLost,
  KernelUnparsed,
]);
export type KernelRecord = z.infer<typeof KernelRecord>;
export type KernelRecordOf<K extends KernelRecord["kind"]> = Extract<KernelRecord, { kind: K }>;
