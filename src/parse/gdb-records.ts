import { z } from "zod";
import type { GdbValue as GdbValueType } from "./gdb-value.js";

// Records of a gdb console transcript (parse/gdb.ts). The field names of threads,
// registers, value, backtrace, breakpoint-hit and unparsed are a contract with scenarios
// and `forensics parse gdb --json` users; `thread` is gdb's thread number (`Thread 3`),
// `lwp` the kernel TID it maps to (host PID namespace when the harness captured it).

const GdbValueSchema: z.ZodType<GdbValueType> = z.lazy(() =>
  z.union([z.number(), z.string(), z.boolean(), z.null(), z.array(GdbValueSchema), z.record(z.string(), GdbValueSchema)]),
);

const thread = z.number().int().nullable();
/** `name=value` pairs of a frame as gdb printed them, in order; null when gdb printed none (`?? ()`). */
const args = z.record(z.string(), z.string()).nullable();

export const GdbThreads = z.object({
  kind: z.literal("threads"),
  threads: z.array(
    z.object({
      id: z.number().int(),
      lwp: z.number().int().nullable(),
      name: z.string().nullable(),
      current: z.boolean(),
      /** The `Frame` column as printed. */
      frame: z.string(),
    }),
  ),
});

export const GdbRegisters = z.object({
  kind: z.literal("registers"),
  thread,
  /** Register name → its raw value as printed ("0x7ffe0a5b7ef8"; vector registers keep their braces). */
  registers: z.record(z.string(), z.string()),
});

export const GdbValueRecord = z.object({
  kind: z.literal("value"),
  /** The printed expression (`'runtime.sig'.mask`), from the command; null for pasted text without it. */
  expr: z.string().nullable(),
  /** gdb's value history number ($N). */
  history: z.number().int().nullable(),
  value: GdbValueSchema,
  /** The thread gdb was on when it printed the value (per-thread reads such as $rsp and $fs_base). */
  thread,
});

export const GdbFrame = z.object({
  n: z.number().int(),
  addr: z.string().nullable(),
  func: z.string().nullable(),
  args,
  file: z.string().nullable(),
  line: z.number().int().nullable(),
  /** `<signal handler called>`: the frames above it run on the signal's stack. */
  signalFrame: z.boolean(),
});
export type GdbFrame = z.infer<typeof GdbFrame>;

export const GdbBacktrace = z.object({
  kind: z.literal("backtrace"),
  thread,
  frames: z.array(GdbFrame),
});

export const GdbBreakpointHit = z.object({
  kind: z.literal("breakpoint-hit"),
  thread,
  lwp: z.number().int().nullable(),
  func: z.string().nullable(),
  args,
  breakpoint: z.number().int().nullable(),
});

/** A signal gdb stopped on (`Thread 1 "x" received signal SIGINT, Interrupt.`). */
export const GdbSignalStop = z.object({
  kind: z.literal("signal-stop"),
  thread,
  signal: z.string(),
});

/** `[New LWP n]`, `[LWP n exited]`, `[Switching to thread 2 (LWP n)]`. */
export const GdbThreadEvent = z.object({
  kind: z.literal("thread-event"),
  event: z.enum(["new", "exited", "switched"]),
  thread,
  lwp: z.number().int().nullable(),
});

/** The target ended while gdb held it: `[Inferior 1 (process N) exited …]`, `Program terminated with signal …`. */
export const GdbExited = z.object({
  kind: z.literal("exited"),
  pid: z.number().int().nullable(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
});

/** gdb refused a command (`No symbol "x" in current context.`). */
export const GdbError = z.object({
  kind: z.literal("error"),
  command: z.string().nullable(),
  text: z.string(),
});

export const GdbWarning = z.object({ kind: z.literal("warning"), text: z.string() });

/** gdb's chatter with no data of its own (`Continuing.`, source lines, the `handle` table), kept so nothing is dropped. */
export const GdbNote = z.object({ kind: z.literal("note"), text: z.string() });

/** A command as typed at the prompt: lets a reader tell which output answered what. */
export const GdbCommand = z.object({ kind: z.literal("command"), command: z.string() });

export const GdbUnparsed = z.object({ kind: z.literal("unparsed"), text: z.string(), reason: z.string() });

export const GdbRecord = z.discriminatedUnion("kind", [
  GdbThreads,
  GdbRegisters,
  GdbValueRecord,
  GdbBacktrace,
  GdbBreakpointHit,
  GdbSignalStop,
  GdbThreadEvent,
  GdbExited,
  GdbError,
  GdbWarning,
  GdbNote,
  GdbCommand,
  GdbUnparsed,
]);
export type GdbRecord = z.infer<typeof GdbRecord>;
export type GdbRecordOf<K extends GdbRecord["kind"]> = Extract<GdbRecord, { kind: K }>;
