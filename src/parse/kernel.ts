import { SIGNAL_RESULTS, type KernelRecord } from "./kernel-records.js";
import { signalName } from "./signals.js";

// A streaming parser for tracefs text (`trace` and `trace_pipe` read the same way, Linux
// 6.x): `<comm>-<pid> [<cpu>] <flags> <ts>: <event>: <fields>`. Pure: lines in, records
// out. Its state is what the capture itself says once and applies to every line: the
// clock marker mapping the instance's trace clock to CLOCK_REALTIME, and the header naming
// which uprobe event stands for which function.

/** The text our clockmark helper writes into trace_marker (go-probes/clockmark). */
export const CLOCK_MARKER_PREFIX = "forensics-clock realtime_ns=";
/** The first line of a raw capture of ours; JSON follows. */
export const HEADER_PREFIX = "# forensics kernel observer: ";

export interface KernelParserState {
  /** CLOCK_REALTIME µs minus trace-clock µs, from the first clock marker; null until one is seen. */
  clockOffsetUs: number | null;
  /** Uprobe event name → the function it probes, from the header. */
  uprobes: Map<string, string>;
  /** A line cut by a stream chunk, waiting for its end. */
  partial: string;
}

export interface KernelParser {
  readonly state: KernelParserState;
  /** One line, without its newline. */
  push(line: string): KernelRecord[];
  /** A piece of a stream cut anywhere; a trailing partial line waits for the next piece or end(). */
  pushText(text: string): KernelRecord[];
  end(): KernelRecord[];
}

export function createKernelParser(init: Partial<Pick<KernelParserState, "clockOffsetUs" | "uprobes">> = {}): KernelParser {
  const state: KernelParserState = { clockOffsetUs: init.clockOffsetUs ?? null, uprobes: new Map(init.uprobes ?? []), partial: "" };
  const push = (line: string): KernelRecord[] => {
    const r = parseKernelLine(line, state);
    return r === null ? [] : [r];
  };
  return {
    state,
    push,
    pushText(text) {
      const lines = (state.partial + text).split("\n");
      state.partial = lines.pop()!;
      return lines.flatMap(push);
    },
    end() {
      const rest = state.partial;
      state.partial = "";
      return rest === "" ? [] : push(rest);
    },
  };
}

/**
 * A whole capture. The first clock marker maps every line, also those before it, and the
 * header's uprobe names apply everywhere: so both are looked up before parsing.
 */
export function parseKernelText(text: string): KernelRecord[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const state: KernelParserState = { clockOffsetUs: null, uprobes: new Map(), partial: "" };
  for (const line of lines) {
    if (line.startsWith(HEADER_PREFIX)) readHeaderUprobes(parseHeaderJson(line), state.uprobes);
    // Parsing the marker's line sets the offset (see tracing_mark_write below).
    else if (state.clockOffsetUs === null && line.includes(CLOCK_MARKER_PREFIX)) parseKernelLine(line, state);
  }
  const parser = createKernelParser(state);
  return lines.flatMap((line) => parser.push(line));
}

// `<comm>-<pid>`, optional `(<tgid>)` (option record-tgid), `[cpu]`, optional irq/preempt
// flags (option irq-info, on by default), `<sec>.<frac>:`. The comm may hold spaces and dashes.
const LINE = /^\s*(.*?)-(\d+)\s+(?:\(\s*(?:\d+|-+)\)\s+)?\[(\d+)\]\s+(?:\S+\s+)?(\d+)\.(\d+):\s(.*)$/;
const LOST = /^CPU:(\d+) \[LOST (\d+) EVENTS\]$/;
const SYSCALL_ENTER = /^sys_(\w+)\((.*)\)$/;
const SYSCALL_EXIT = /^sys_(\w+) -> (\S+)$/;
const EVENT = /^(\w+): ?(.*)$/;
const GENERATE = /^sig=(-?\d+) errno=(-?\d+) code=(-?\d+) comm=(.*) pid=(-?\d+) grp=(\d+) res=(-?\d+)$/;
const DELIVER = /^sig=(-?\d+) errno=(-?\d+) code=(-?\d+) sa_handler=([0-9a-f]+) sa_flags=([0-9a-f]+)$/;
const EXEC = /^filename=(.*) pid=(-?\d+) old_pid=(-?\d+)$/;
const FORK = /^comm=(.*) pid=(-?\d+) child_comm=(.*) child_pid=(-?\d+)$/;
const EXIT = /^comm=(.*) pid=(-?\d+) prio=(-?\d+)(?: group_dead=(true|false))?$/;
const UPROBE = /^\((0x[0-9a-f]+)\)(?: (.*))?$/;
const CLOCK_MARKER = /^forensics-clock realtime_ns=(\d{4,})(?: mono_ns=(\d{4,}))?$/;
const ARG_START = / (?=[A-Za-z_]\w*=)/;

/** One line → its record; null only for `#` comment lines (the header line becomes a record). */
export function parseKernelLine(line: string, state: KernelParserState): KernelRecord | null {
  const none = { pid: null, comm: null, cpu: null, ts: null, tsUs: null, line };
  if (line.startsWith(HEADER_PREFIX)) {
    const info = parseHeaderJson(line);
    if (info === null) return { kind: "unparsed", ...none, reason: "header line without a JSON object" };
    readHeaderUprobes(info, state.uprobes);
    return { kind: "header", ...none, info };
  }
  if (line.startsWith("#")) return null;
  const lost = LOST.exec(line.trim());
  if (lost) return { kind: "lost", ...none, cpu: Number(lost[1]), lostEvents: Number(lost[2]) };
  if (line.trim() === "") return { kind: "unparsed", ...none, reason: "empty line" };

  const m = LINE.exec(line);
  if (!m) return { kind: "unparsed", ...none, reason: "not a trace line (expected `comm-pid [cpu] flags ts: event: …`)" };
  const [, comm, pid, cpu, sec, frac, rest] = m as unknown as [string, string, string, string, string, string, string];
  const monoUs = Number(sec) * 1_000_000 + Number(frac.padEnd(6, "0").slice(0, 6));
  const common = {
    pid: Number(pid),
    comm,
    cpu: Number(cpu),
    ts: Number(`${sec}.${frac}`),
    tsUs: state.clockOffsetUs === null ? null : monoUs + state.clockOffsetUs,
    line,
  };

  const enter = SYSCALL_ENTER.exec(rest);
  if (enter) {
    const args: Record<string, string> = {};
    for (const part of enter[2]!.split(", ")) {
      const colon = part.indexOf(": ");
      if (colon < 0) return { kind: "unparsed", ...common, reason: `syscall argument without a name: "${part}"` };
      args[part.slice(0, colon)] = part.slice(colon + 2);
    }
    return { kind: "syscall-enter", ...common, syscall: enter[1]!, args };
  }
  const exit = SYSCALL_EXIT.exec(rest);
  if (exit) return { kind: "syscall-exit", ...common, syscall: exit[1]!, ret: exit[2]! };

  const ev = EVENT.exec(rest);
  if (!ev) return { kind: "unparsed", ...common, reason: "no event name" };
  const [, event, body] = ev as unknown as [string, string, string];
  const bad = (what: string) => ({ kind: "unparsed" as const, ...common, reason: `${event} without the fields of ${what}` });
  switch (event) {
    case "tracing_mark_write": {
      const clock = CLOCK_MARKER.exec(body);
      const record = { kind: "marker" as const, ...common, text: body, realtimeNs: clock ? clock[1]! : null, ...(clock?.[2] ? { monoNs: clock[2] } : {}) };
      if (clock && state.clockOffsetUs === null) {
        // A stream meets its clock marker first (the observer writes it before enabling
        // events), so from here on every line maps; the marker itself too.
        state.clockOffsetUs = clock[2] ? pairOffset(clock[1]!, clock[2]) : clockOffset(clock[1]!, line);
        record.tsUs = monoUs + state.clockOffsetUs!;
      }
      return record;
    }
    case "signal_generate": {
      const g = GENERATE.exec(body);
      if (!g) return bad("signal_generate (sig errno code comm pid grp res)");
      const sig = Number(g[1]);
      const result = Number(g[7]);
      return {
        kind: "signal-generate",
        ...common,
        sig,
        signal: signalName(sig),
        errno: Number(g[2]),
        code: Number(g[3]),
        targetComm: g[4]!,
        targetPid: Number(g[5]),
        group: g[6] !== "0",
        result,
        resultName: SIGNAL_RESULTS[result] ?? null,
      };
    }
    case "signal_deliver": {
      const d = DELIVER.exec(body);
      if (!d) return bad("signal_deliver (sig errno code sa_handler sa_flags)");
      const sig = Number(d[1]);
      return { kind: "signal-deliver", ...common, sig, signal: signalName(sig), errno: Number(d[2]), code: Number(d[3]), saHandler: d[4]!, saFlags: d[5]! };
    }
    case "sched_process_exec": {
      const e = EXEC.exec(body);
      if (!e) return bad("sched_process_exec (filename pid old_pid)");
      return { kind: "exec", ...common, filename: e[1]!, execPid: Number(e[2]), oldPid: Number(e[3]) };
    }
    case "sched_process_fork": {
      const f = FORK.exec(body);
      if (!f) return bad("sched_process_fork (comm pid child_comm child_pid)");
      return { kind: "fork", ...common, parentComm: f[1]!, parentPid: Number(f[2]), childComm: f[3]!, childPid: Number(f[4]) };
    }
    case "sched_process_exit": {
      const x = EXIT.exec(body);
      if (!x) return bad("sched_process_exit (comm pid prio)");
      return {
        kind: "exit",
        ...common,
        exitComm: x[1]!,
        exitPid: Number(x[2]),
        prio: Number(x[3]),
        groupDead: x[4] === undefined ? null : x[4] === "true",
      };
    }
  }
  const u = UPROBE.exec(body);
  if (u) {
    const args: Record<string, number | string> = {};
    for (const part of u[2] === undefined ? [] : u[2].split(ARG_START)) {
      const eq = part.indexOf("=");
      if (eq < 0) return { kind: "unparsed", ...common, reason: `uprobe argument without a name: "${part}"` };
      const value = part.slice(eq + 1);
      args[part.slice(0, eq)] = /^-?\d+$/.test(value) && Number.isSafeInteger(Number(value)) ? Number(value) : value;
    }
    return { kind: "uprobe", ...common, event, fn: state.uprobes.get(event) ?? null, addr: u[1]!, args };
  }
  return { kind: "unparsed", ...common, reason: `unknown event "${event}"` };
}

/** A syscall argument or return value as the kernel prints it ("0xf", "15", "0") → number; null if not one. */
export function kernelNumber(printed: string): number | null {
  if (/^0x[0-9a-f]+$/i.test(printed) || /^-?\d+$/.test(printed)) {
    const n = Number(printed);
    return Number.isSafeInteger(n) ? n : null;
  }
  return null;
}

// A marker with its own monotonic reading maps exactly, whenever tracefs stamped it: the
// two instances of a trial then share one offset, so their events compare across files.
function pairOffset(realtimeNs: string, monoNs: string): number {
  return Number((BigInt(realtimeNs) - BigInt(monoNs)) / 1000n);
}

// Older markers carry only the realtime reading: tracefs's stamp of the write stands in
// for its monotonic instant, late by whatever ran between the read and the write.
// CLOCK_REALTIME ns do not fit a double exactly; their µs do (1.8e15 < 2^53).
function clockOffset(realtimeNs: string, line: string): number | null {
  const m = LINE.exec(line);
  if (!m) return null;
  const monoUs = Number(m[4]) * 1_000_000 + Number(m[5]!.padEnd(6, "0").slice(0, 6));
  return Number(realtimeNs.slice(0, -3)) - monoUs;
}

function parseHeaderJson(line: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(line.slice(HEADER_PREFIX.length));
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function readHeaderUprobes(info: Record<string, unknown> | null, into: Map<string, string>): void {
  const uprobes = info?.uprobes;
  if (!Array.isArray(uprobes)) return;
  for (const u of uprobes as unknown[]) {
    const { event, fn } = (u ?? {}) as { event?: unknown; fn?: unknown };
    if (typeof event === "string" && typeof fn === "string") into.set(event, fn);
  }
}
