import { z } from "zod";

// Records are what parsers emit: one per understood line, or `unparsed` with a reason.
// Times are integer microseconds: strace's finest stamp is µs, and epoch nanoseconds do
// not fit in a JS number exactly (2^53 ≈ 9.0e15 < 1.7e18), while epoch µs do.

const base = {
  /** Thread/process id as the tracer saw it (host PID namespace); null if the line had none. */
  pid: z.number().int().nullable(),
  /** The timestamp as printed, in seconds (epoch for -ttt, since midnight for -t/-tt, relative for -r). */
  ts: z.number().nullable(),
  /** Same instant, exact integer microseconds. */
  tsUs: z.number().int().nullable(),
};

export const SyscallRecord = z.object({
  kind: z.literal("syscall"),
  ...base,
  syscall: z.string(),
  /** Top-level arguments as printed (structures and strings kept verbatim). */
  args: z.array(z.string()),
  /** Return value as printed ("0", "-1", "0x7f…", "?"), null while unfinished. */
  ret: z.string().nullable(),
  errno: z.string().nullable(),
  errnoText: z.string().nullable(),
  /** Anything strace printed after the return value besides errno, e.g. "(Timeout)". */
  retNote: z.string().nullable(),
  durationUs: z.number().int().nullable(),
  /** True when assembled from an `<unfinished …>` line and its `<… resumed>` line. */
  resumed: z.boolean(),
  /** True when the call never returned in the log (the process died inside it). */
  unfinished: z.boolean(),
});
export type SyscallRecord = z.infer<typeof SyscallRecord>;

export const SignalRecord = z.object({
  kind: z.literal("signal"),
  ...base,
  signal: z.string(),
  /** The siginfo fields strace decoded, e.g. { si_code: "SI_USER", si_pid: "0" }. */
  info: z.record(z.string(), z.string()),
});
export type SignalRecord = z.infer<typeof SignalRecord>;

export const ExitRecord = z.object({
  kind: z.literal("exit"),
  ...base,
  exitCode: z.number().int(),
});
export type ExitRecord = z.infer<typeof ExitRecord>;

export const KilledRecord = z.object({
  kind: z.literal("killed"),
  ...base,
  signal: z.string(),
  coreDumped: z.boolean(),
});
export type KilledRecord = z.infer<typeof KilledRecord>;

/** strace's own notes: "Process N attached", "detached", "--- stopped by SIGSTOP ---". */
export const TracerRecord = z.object({
  kind: z.literal("tracer"),
  ...base,
  text: z.string(),
});
export type TracerRecord = z.infer<typeof TracerRecord>;

/**
 * One row of the table `strace -c` prints instead of a trace (or `-C` after it): a syscall's
 * totals over the whole run, or, with `syscall: null`, the "total" row. pid and stamps are null.
 */
export const SummaryRecord = z.object({
  kind: z.literal("summary"),
  ...base,
  syscall: z.string().nullable(),
  /** "% time": this syscall's share of the time spent in all of them. */
  timePercent: z.number(),
  /** "seconds", in exact µs. */
  totalUs: z.number().int(),
  usPerCall: z.number().int(),
  calls: z.number().int(),
  /** Calls that failed; strace leaves the column blank for none. */
  errors: z.number().int(),
});
export type SummaryRecord = z.infer<typeof SummaryRecord>;

export const UnparsedRecord = z.object({
  kind: z.literal("unparsed"),
  ...base,
  line: z.string(),
  reason: z.string(),
});
export type UnparsedRecord = z.infer<typeof UnparsedRecord>;

export const StraceRecord = z.discriminatedUnion("kind", [
  SyscallRecord,
  SignalRecord,
  ExitRecord,
  KilledRecord,
  TracerRecord,
  SummaryRecord,
  UnparsedRecord,
]);
export type StraceRecord = z.infer<typeof StraceRecord>;

/** One line of a probe's JSON-lines stdout (docs/design.md, "Probe protocol"). */
export const ProbeEvent = z.object({
  kind: z.literal("probe"),
  /** CLOCK_REALTIME in µs, cut exactly from the probe's nanosecond stamp. */
  tsUs: z.number().int(),
  ev: z.string(),
  fields: z.record(z.string(), z.unknown()),
});
export type ProbeEvent = z.infer<typeof ProbeEvent>;

export const ProbeUnparsed = z.object({
  kind: z.literal("unparsed"),
  line: z.string(),
  reason: z.string(),
});

export const ProbeRecord = z.discriminatedUnion("kind", [ProbeEvent, ProbeUnparsed]);
export type ProbeRecord = z.infer<typeof ProbeRecord>;
