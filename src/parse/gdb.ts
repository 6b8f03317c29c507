import type { GdbFrame, GdbRecord, GdbRecordOf } from "./gdb-records.js";
import { parseGdbValue } from "./gdb-value.js";

// gdb's console output → records: transcripts the harness captured through its pty
// (`(gdb) cmd` echoed, CRLF line ends) and text people paste into bug reports (often
// without the prompt lines). Pure and line-based: each line is recognised by its own shape
// (`$N = `, `#N `, the `info threads` header, `rsp   0x…`), the command before it only
// names values and tells errors from output. Its state is what gdb spreads over lines:
// the current thread, a `thread apply` section, a value still inside its braces.

const PROMPT = /^\(gdb\) ?(.*)$/;
const HISTORY = /^\$(\d+) = (.*)$/;
const FRAME = /^#(\d+)\s+(.*)$/;
const THREADS_HEADER = /^\s*Id\s+Target Id\s+Frame\s*$/;
// The Target Id column is padded to its longest entry, which then has one space before the frame.
const THREAD_ROW = /^([* ])\s*(?:\d+\.)?(\d+)\s+((?:Thread 0x[0-9a-f]+ \(LWP \d+\)|LWP \d+|process \d+)(?: "(?:[^"\\]|\\.)*")?)\s+(.*)$/;
const APPLY_HEADER = /^Thread (?:\d+\.)?(\d+) \((.*)\):$/;
// Every amd64/arm64 register's raw column is hex (or braces for vector registers).
const REGISTER = /^([a-z][a-z0-9_]*)\s+(0x[0-9a-f]+|\{.*\})(?:\s+(.*))?$/;
const HIT = /^(?:Thread (?:\d+\.)?(\d+) "(.*)" hit )?(?:Temporary b|B)reakpoint (\d+), (.*)$/;
const SIGNAL_STOP = /^(?:Thread (?:\d+\.)?(\d+) "(.*)" received|Program received) signal (SIG\w+|\?), /;
const SWITCHED = /^\[Switching to (?:thread (?:\d+\.)?(\d+) \((.*)\)|(.*))\]$/;
const NEW_THREAD = /^\[New (.*)\]$/;
const THREAD_EXITED = /^\[(.*) exited\]$/;
const INFERIOR_EXIT = /^\[Inferior \d+ \(process (\d+)\) exited (?:normally|with code (\d+))\]$/;
const TERMINATED = /^Program terminated with signal (SIG\w+), /;
const WARNING = /^(?:warning|Warning):(?: .*)?$/;
const LWP = /LWP (\d+)/;

/** gdb's answers that are refusals, whatever the command. */
const ERRORS = [
  /^No symbol .* in current context\.$/,
  /^No symbol table is loaded\./,
  /^Cannot access memory at address /,
  /^The program is not being run\.$/,
  /^A syntax error in expression/,
  /^There is no member named /,
  /^Invalid (?:cast|character|number)/,
  /^Attempt to /,
  /^Undefined (?:command|info command)/,
  /^No (?:registers|stack|frame selected|thread selected|symbol)\b/,
  /^Invalid thread ID/,
  /^Unknown thread /,
  /^Function ".*" not defined\.$/,
  /^Couldn't get registers/,
  /^ptrace: /,
  /^Could not attach /,
  /^Cannot /,
  /^Command aborted\.$/,
];

/** Lines gdb prints that carry nothing to extract; kept as notes. */
const CHATTER = [
  /^Attaching to (?:process|program)/,
  /^Reading symbols from /,
  /^Detaching from program/,
  /^\[Inferior \d+ \(process \d+\) detached\]$/,
  /^Continuing\.$/,
  /^(?:Temporary b|B)reakpoint \d+ at /,
  /^Signal\s+Stop\s+Print/,
  /^SIG\w+\s+(?:Yes|No)\s/,
  /^\d+\t/,
  /^\[Thread debugging using /,
  /^Using host libthread_db/,
  /^Quit$/,
  /^\^C$/,
  /^Run till exit/,
  /^Backtrace stopped: /,
  /^\(More stack frames follow\.\.\.\)$/,
  /^Downloading /,
  /^Num\s+Type\s+Disp\s+Enb/,
  /^\d+\s+breakpoint\s+keep/,
  /^\s+breakpoint already hit /,
  /^Starting program: /,
  /^Kill the program being debugged/,
  /^The program no longer exists\.$/,
  /^process \d+ is executing new program: /,
  /^\[Current thread is /,
];

/** Continuation lines of gdb's multi-line warnings (the auto-load one is printed at every attach to a Go binary). */
const WARNING_CONTINUATION = [/^of file /, /^Use `info auto-load/, /^To enable execution of this file/];

/** A frame printed on its own where a thread stopped: `runtime.futex () at runtime/sys_linux_amd64.s:570`. */
const STOP_LOCATION = /^(?:0x[0-9a-f]+ in )?\S+ \(.*\)(?: at \S+:\d+| from \S+)?$/;

const PRINT_COMMAND = /^(?:p|print|output|call|inspect)(?:\/\w+)?\s+(.*)$/;
const APPLY_COMMAND = /^(?:thread|t)\s+apply\s+(?:all|[\d\s.-]+)\s+(?:-\w+\s+)*(?:--\s+)?(.*)$/;
const THREAD_COMMAND = /^(?:thread|t)\s+(\d+)\s*$/;

export interface GdbParser {
  /** Parses one line (CR and all); returns the records it completes. */
  push(line: string): GdbRecord[];
  /** End of input: a value, table or backtrace still open comes out. */
  end(): GdbRecord[];
}

export function createGdbParser(): GdbParser {
  let current: number | null = null;
  /** The thread of a `thread apply` section; null outside one. */
  let applied: number | null = null;
  /** The command whose output follows (inside `thread apply`, the applied command). */
  let command: string | null = null;
  const lwps = new Map<number, number>();
  let open: Open | null = null;

  type Open =
    | { kind: "value"; expr: string | null; history: number; text: string }
    | { kind: "threads"; rows: GdbRecordOf<"threads">["threads"] }
    | { kind: "registers"; registers: Record<string, string> }
    | { kind: "backtrace"; frames: GdbFrame[] }
    | { kind: "warning"; text: string };

  const thread = (): number | null => applied ?? current;

  const close = (): GdbRecord[] => {
    const o = open;
    open = null;
    if (o === null) return [];
    switch (o.kind) {
      case "value": {
        const parsed = parseGdbValue(o.text);
        if (!parsed.ok) return [{ kind: "unparsed", text: `$${o.history} = ${o.text}`, reason: `value: ${parsed.reason}` }];
        return [{ kind: "value", expr: o.expr, history: o.history, value: parsed.value, thread: thread() }];
      }
      case "threads":
        return [{ kind: "threads", threads: o.rows }];
      case "registers":
        return [{ kind: "registers", thread: thread(), registers: o.registers }];
      case "backtrace":
        return [{ kind: "backtrace", thread: thread(), frames: o.frames }];
      case "warning":
        return [{ kind: "warning", text: o.text }];
    }
  };

  const printedExpr = (): string | null => {
    const m = command?.match(PRINT_COMMAND);
    return m ? m[1]!.trim() : null;
  };

  const classify = (line: string): GdbRecord[] => {
    let m: RegExpMatchArray | null;
    if ((m = line.match(HISTORY))) {
      open = { kind: "value", expr: printedExpr(), history: Number(m[1]), text: "" };
      return continueValue(m[2]!);
    }
    if (THREADS_HEADER.test(line)) {
      open = { kind: "threads", rows: [] };
      return [];
    }
    if ((m = line.match(FRAME))) {
      const frame = parseFrame(Number(m[1]), m[2]!);
      if (frame === null) return [{ kind: "unparsed", text: line, reason: "frame line not understood" }];
      open = { kind: "backtrace", frames: [frame] };
      return [];
    }
    if ((m = line.match(APPLY_HEADER))) {
      applied = Number(m[1]);
      const lwp = m[2]!.match(LWP);
      if (lwp) lwps.set(applied, Number(lwp[1]));
      return [];
    }
    if ((m = line.match(HIT))) {
      const t = m[1] === undefined ? current : Number(m[1]);
      current = t;
      const frame = parseFrame(0, m[4]!);
      return [
        {
          kind: "breakpoint-hit",
          thread: t,
          lwp: t === null ? null : (lwps.get(t) ?? null),
          func: frame?.func ?? null,
          args: frame?.args ?? null,
          breakpoint: Number(m[3]),
        },
      ];
    }
    if ((m = line.match(SIGNAL_STOP))) {
      if (m[1] !== undefined) current = Number(m[1]);
      return [{ kind: "signal-stop", thread: m[1] === undefined ? current : Number(m[1]), signal: m[3]! }];
    }
    if ((m = line.match(INFERIOR_EXIT))) return [{ kind: "exited", pid: Number(m[1]), exitCode: Number(m[2] ?? 0), signal: null }];
    if ((m = line.match(TERMINATED))) return [{ kind: "exited", pid: null, exitCode: null, signal: m[1]! }];
    if ((m = line.match(SWITCHED))) {
      const lwp = (m[2] ?? m[3] ?? "").match(LWP);
      if (m[1] !== undefined) current = Number(m[1]);
      const t = m[1] !== undefined ? current : lwp ? threadOfLwp(lwps, Number(lwp[1])) : null;
      if (m[1] === undefined) current = t;
      if (t !== null && lwp) lwps.set(t, Number(lwp[1]));
      return [{ kind: "thread-event", event: "switched", thread: t, lwp: lwp ? Number(lwp[1]) : null }];
    }
    if ((m = line.match(THREAD_EXITED)) && LWP.test(m[1]!)) {
      const lwp = Number(m[1]!.match(LWP)![1]);
      return [{ kind: "thread-event", event: "exited", thread: threadOfLwp(lwps, lwp), lwp }];
    }
    if ((m = line.match(NEW_THREAD)) && LWP.test(m[1]!)) {
      return [{ kind: "thread-event", event: "new", thread: null, lwp: Number(m[1]!.match(LWP)![1]) }];
    }
    if (WARNING.test(line)) {
      open = { kind: "warning", text: line };
      return [];
    }
    if (ERRORS.some((re) => re.test(line))) return [{ kind: "error", command, text: line }];
    if (CHATTER.some((re) => re.test(line)) || STOP_LOCATION.test(line)) return [{ kind: "note", text: line }];
    if ((m = line.match(REGISTER))) {
      open = { kind: "registers", registers: { [m[1]!]: m[2]! } };
      return [];
    }
    // A print whose answer is not `$N = …` was refused, whatever gdb's wording.
    if (printedExpr() !== null) return [{ kind: "error", command, text: line }];
    return [{ kind: "unparsed", text: line, reason: command === null ? "not a gdb output line this parser knows" : `output of "${command}" not understood` }];
  };

  /** Adds a piece of value text; the value closes once its braces balance. */
  const continueValue = (piece: string): GdbRecord[] => {
    if (open?.kind !== "value") return [];
    open.text += (open.text === "" ? "" : " ") + piece.trim();
    return braceDepth(open.text) > 0 ? [] : close();
  };

  const pushLine = (raw: string): GdbRecord[] => {
    // The terminal echoes Ctrl-C as ^C, and gdb's next output may follow it on the same line.
    const line = raw.replace(/\r+$/, "").replace(/^\r+/, "").replace(/^\^C(?=.)/, "");
    const out: GdbRecord[] = [];
    const prompt = line.match(PROMPT);
    if (prompt) {
      out.push(...close());
      applied = null;
      const typed = prompt[1]!.trim();
      if (typed === "") return out;
      out.push({ kind: "command", command: typed });
      const apply = typed.match(APPLY_COMMAND);
      command = apply ? apply[1]!.trim() : typed;
      const switchTo = typed.match(THREAD_COMMAND);
      if (switchTo) current = Number(switchTo[1]);
      return out;
    }
    if (line.trim() === "") {
      // A blank line ends a table or a backtrace, never a value (pretty-printed values have none).
      if (open?.kind !== "value") out.push(...close());
      return out;
    }
    // A value whose braces never balance (a cut paste) ends where the next value, frame or table begins.
    if (open?.kind === "value" && !HISTORY.test(line) && !FRAME.test(line) && !THREADS_HEADER.test(line)) return continueValue(line);
    // gdb -batch 2>&1 interleaves stderr (source-file notes, warnings) into the threads table:
    // a row after such a line goes on in a table of its own.
    const row = line.match(THREAD_ROW);
    if (row && open?.kind !== "threads" && open?.kind !== "value") {
      out.push(...close());
      open = { kind: "threads", rows: [] };
    }
    if (open?.kind === "threads") {
      if (row) {
        const id = Number(row[2]);
        const target = row[3]!;
        const lwp = target.match(LWP);
        const name = target.match(/"(.*)"$/);
        if (lwp) lwps.set(id, Number(lwp[1]));
        if (row[1] === "*") current = id;
        open.rows.push({ id, lwp: lwp ? Number(lwp[1]) : null, name: name ? name[1]! : null, current: row[1] === "*", frame: row[4]!.trim() });
        return out;
      }
    }
    if (open?.kind === "registers") {
      const reg = line.match(REGISTER);
      if (reg) {
        open.registers[reg[1]!] = reg[2]!;
        return out;
      }
    }
    if (open?.kind === "warning" && WARNING_CONTINUATION.some((re) => re.test(line))) {
      open.text += `\n${line}`;
      return out;
    }
    if (open?.kind === "backtrace") {
      const f = line.match(FRAME);
      if (f) {
        const frame = parseFrame(Number(f[1]), f[2]!);
        if (frame) {
          open.frames.push(frame);
          return out;
        }
      }
    }
    out.push(...close(), ...classify(line));
    return out;
  };

  return { push: pushLine, end: () => close() };
}

/** Parses a whole transcript (CRLF or LF). */
export function parseGdbText(text: string): GdbRecord[] {
  const parser = createGdbParser();
  const records: GdbRecord[] = [];
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  for (const line of lines) records.push(...parser.push(line));
  records.push(...parser.end());
  return records;
}

function threadOfLwp(lwps: Map<number, number>, lwp: number): number | null {
  for (const [t, l] of lwps) if (l === lwp) return t;
  return null;
}

/**
 * One frame after its `#N`: `0x… in func (a=1, b=…) at file:line`, `func () from lib`,
 * `<signal handler called>`, `?? ()`. A Go function name never holds " (", so the name
 * ends there; the arguments are the balanced parentheses after it.
 */
export function parseFrame(n: number, text: string): GdbFrame | null {
  if (text.trim() === "<signal handler called>") return { n, addr: null, func: null, args: null, file: null, line: null, signalFrame: true };
  const head = text.match(/^(?:(0x[0-9a-f]+) in )?(.+?) \(/);
  if (!head) return null;
  const open = head[0].length - 1;
  const close = matchingParen(text, open);
  if (close < 0) return null;
  const rest = text.slice(close + 1);
  const at = rest.match(/^ at (.+):(\d+)$/);
  const from = rest.match(/^ from (.+)$/);
  if (!at && !from && rest !== "") return null;
  const func = head[2]! === "??" ? null : head[2]!;
  return {
    n,
    addr: head[1] ?? null,
    func,
    args: func === null ? null : splitArgs(text.slice(open + 1, close)),
    file: at ? at[1]! : from ? from[1]! : null,
    line: at ? Number(at[2]) : null,
    signalFrame: false,
  };
}

/** `sig=10, info=0x…, gp=0x5dc080 <runtime.g0>` → {sig: "10", …}, splitting only at top-level commas. */
function splitArgs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let depth = 0;
  let start = 0;
  let quote: string | null = null;
  const flush = (end: number): void => {
    const part = text.slice(start, end).trim();
    const eq = part.indexOf("=");
    if (part !== "") out[eq > 0 ? part.slice(0, eq) : part] = eq > 0 ? part.slice(eq + 1) : "";
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== null) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "(" || c === "{" || c === "[" || c === "<") depth++;
    else if (c === ")" || c === "}" || c === "]" || c === ">") depth--;
    else if (c === "," && depth === 0) {
      flush(i);
      start = i + 1;
    }
  }
  flush(text.length);
  return out;
}

function matchingParen(text: string, open: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== null) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "(") depth++;
    else if (c === ")" && --depth === 0) return i;
  }
  return -1;
}

/** Open `{` minus `}` outside string and char literals. */
function braceDepth(text: string): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== null) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "{") depth++;
    else if (c === "}") depth--;
  }
  return depth;
}
