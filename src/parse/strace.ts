import type { StraceRecord, SyscallRecord, UnparsedRecord } from "./records.js";

// A streaming parser for strace's text output (strace 6.x; -f/-ff, -t/-tt/-ttt/-r, -T, -y/-yy).
// Pure: text in, records out. Its only state is what strace itself spreads over lines —
// `<unfinished ...>` halves waiting for their `<... resumed>` line, per pid, and a line that a
// tracer note cut in two.
//
// It must keep up with 200 MB logs, which decides its shape: hand-written scanning, no regular
// expressions on the hot path, and scanning bytes rather than characters: each piece of text
// gets a parallel array of character codes (encodeCodes, or the bytes of an ASCII file read,
// pushAscii), which V8 reads about twice as fast as charCodeAt, while the strings in the
// records are slices of the text at the same indexes.

export interface StraceParserOptions {
  /** Pid for lines that carry none, e.g. taken from an `-ff` file name (trace.1234). */
  pid?: number;
  /**
   * Gives the arguments of failed calls (errno set) only; other syscall records may come
   * with `args: []`. For readers of failures alone (the failure table), who would otherwise
   * get a string per argument of every call. Lines are checked as strictly, so the same
   * lines come out unparsed.
   */
  failedArgsOnly?: boolean;
  /**
   * Leaves out the syscall records of calls without an errno, counted by omitted() instead:
   * for readers of failures alone (the failure table), for whom the records of a log's
   * other calls, most of its lines, would be made for nothing. Lines are checked as
   * strictly, so the same lines come out unparsed.
   */
  failedOnly?: boolean;
  /**
   * Hands every record to the sink, in order, as its line is parsed; push*() and end()
   * then return none. A syscall read whole from one line of a pushAscii piece comes as a
   * LineCall: ranges of the bytes read instead of a record. For a writer that copies text
   * out as bytes (`--json`), sparing a record and a string per argument that would only be
   * encoded back into the same bytes.
   */
  sink?: RecordSink;
}

export interface RecordSink {
  add(record: StraceRecord): void;
  /** `call` and the bytes it points into are valid during this call only. */
  addCall(call: LineCall): void;
}

/**
 * A syscall record that is still the bytes of its line: `syscall` is bytes[nameAt, nameEnd),
 * `ret` bytes[retAt, retEnd), argument k bytes[spans[2k], spans[2k + 1]) for k < spanCount,
 * all ASCII. Not resumed: a resumed call is a record.
 */
export interface LineCall {
  bytes: Uint8Array;
  pid: number | null;
  /** NaN when the line has no stamp (a number field that is never null keeps doubles unboxed). */
  ts: number;
  /** NaN when the line has no stamp. */
  tsUs: number;
  nameAt: number;
  nameEnd: number;
  spans: Int32Array;
  spanCount: number;
  retAt: number;
  retEnd: number;
  errno: string | null;
  errnoText: string | null;
  retNote: string | null;
  durationUs: number | null;
  unfinished: boolean;
}

export interface StraceParser {
  /** Parses one line (without its newline); returns the records it completes, usually one. */
  push(line: string): StraceRecord[];
  /**
   * Parses a piece of a log cut anywhere (a stream chunk); a trailing partial line waits
   * for the next piece or for end(). Use either this or push on one parser, not both.
   */
  pushText(text: string): StraceRecord[];
  /**
   * pushText for a piece of ASCII whose bytes the caller already holds (a file read): `bytes`
   * are the codes of `text`, one per character, which spares encoding them again.
   */
  pushAscii(bytes: Uint8Array, text: string): StraceRecord[];
  /** End of input: calls still waiting to resume come out with `unfinished: true`. */
  end(): StraceRecord[];
  /** How many records failedOnly left out so far. */
  omitted(): number;
}

/** The first half of a syscall interrupted by another thread's line. */
interface Pending {
  pid: number | null;
  /** NaN for none, as in Prefix. */
  ts: number;
  tsUs: number;
  syscall: string;
  /** Argument text printed so far, starting right after "(". */
  head: string;
  /**
   * The items of `head`, split while the codes of its line were at hand; null with
   * failedOnly, which splits them only if the call turns out to have failed.
   */
  headArgs: string[] | null;
  /** Whether `head` ends with a comma between two items, or is balanced and ends inside none. */
  headCut: HeadCut;
  line: string;
}

/** Where a first half stops: between items, after a whole item, or inside one. */
const enum HeadCut {
  BetweenItems,
  AfterItem,
  InsideItem,
}

const UNFINISHED = " <unfinished ...>";
const DETACHED = " <detached ...>";
const UNFINISHED_CODES = asciiCodes(UNFINISHED);
const DETACHED_CODES = asciiCodes(DETACHED);
const PID_CODES = asciiCodes("[pid ");
const RESUMED_CODES = asciiCodes("<... ");
const SIGNAL_CODES = asciiCodes("--- ");
const EXIT_CODES = asciiCodes("+++ ");
const PERSONALITY_CODES = asciiCodes("[ Process ");
const NOTE_CODES = asciiCodes("strace: ");
const UNAVAILABLE = "<unavailable>";
const PTRACE_NOTE = " <ptrace(";
const ERRNO_NUMBER = "(errno ";
// A tracer note printed while a trace line was half written lands mid-line:
//   `…CLONE_SETTLSstrace: Process 6346 attached` + next line `, tls=…) = 6346`.
// strace writes both to stderr, so this happens whenever no -o file is used.
const SPLICED_NOTE = /strace: Process \d+ (?:attached|detached|suspended)$/;
const NOTE_PID = /^Process (\d+) /;
// strace ≤ 4.8 wrote its notes without the "strace: " prefix, and -p ones with a hint.
const OLD_NOTE = /^Process \d+ (?:attached(?: with \d+ threads)? - interrupt to quit|detached)$/;
// -c/-C: the summary table's header and its row separators (the zoom capture's header lost
// its leading "% "). Only rows below a header are read as rows.
const SUMMARY_HEADER = /^(?:% )?time +seconds +usecs\/call +calls +errors +syscall$/;
const SUMMARY_RULE = /^-+(?: +-+){5}$/;
const SUMMARY_ROW = /^ *(\d+\.\d+) +(\d+)\.(\d{1,6}) +(\d+) +(\d+) +(?:(\d+) +)?([a-z_]\w*)$/;
const EXITED = /^exited with (-?\d+)$/;
const KILLED = /^killed by (SIG\w+)( \(core dumped\))?$/;

const C_TAB = 9;
const C_NEWLINE = 10;
const C_CR = 13;
const C_SPACE = 32;
const C_QUOTE = 34;
const C_LPAREN = 40;
const C_RPAREN = 41;
const C_STAR = 42;
const C_PLUS = 43;
const C_COMMA = 44;
const C_DASH = 45;
const C_DOT = 46;
const C_SLASH = 47;
const C_0 = 48;
const C_9 = 57;
const C_COLON = 58;
const C_LT = 60;
const C_EQ = 61;
const C_GT = 62;
const C_QMARK = 63;
const C_A = 65;
const C_P = 80;
const C_E = 69;
const C_Z = 90;
const C_LBRACKET = 91;
const C_BACKSLASH = 92;
const C_RBRACKET = 93;
const C_UNDERSCORE = 95;
const C_a = 97;
const C_d = 100;
const C_e = 101;
const C_f = 102;
const C_s = 115;
const C_z = 122;
const C_LBRACE = 123;
const C_RBRACE = 125;

const isDigit = (c: number): boolean => c >= C_0 && c <= C_9;
const isUpperOrDigit = (c: number): boolean => (c >= C_A && c <= C_Z) || isDigit(c) || c === C_UNDERSCORE;

function asciiCodes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/**
 * Whether b holds the codes of `text` from i on: startsWith on the codes, which V8 compiles
 * into the caller rather than calling a builtin (a line is tested for up to five of them).
 */
function codesAt(b: Uint8Array, i: number, text: Uint8Array): boolean {
  for (let k = 0; k < text.length; k++) if (b[i + k] !== text[k]) return false;
  return true;
}

/** A table per character class: one load per character instead of a chain of comparisons. */
function classTable(member: (c: number) => boolean): Uint8Array {
  const table = new Uint8Array(256);
  for (let c = 0; c < 128; c++) table[c] = member(c) ? 1 : 0;
  return table;
}
const NAME_CHAR = classTable(
  (c) => (c >= C_a && c <= C_z) || (c >= C_A && c <= C_Z) || isDigit(c) || c === C_UNDERSCORE || c === C_QMARK,
);
const HEX_OR_QMARK = classTable((c) => isDigit(c) || (c >= C_a && c <= C_f) || c === C_QMARK);
/**
 * What splitItems does at a character; PLAIN (most of any argument text) is nothing. One table
 * load both ends a run of plain characters and picks the branch, with no chain of comparisons.
 */
const PLAIN = 0;
const STOP = 1;
const QUOTE = 2;
const COMMA = 3;
const OPEN = 4;
const CLOSE = 5;
const LT = 6;
const SLASH = 7;
/**
 * splitItems' action per character code at the top level of its range. Not ASCII (0xFF in the
 * codes) is plain; the newline and the final 0 stop a run.
 */
const ITEM_ACTION = new Uint8Array(256);
ITEM_ACTION[0] = STOP;
ITEM_ACTION[C_NEWLINE] = STOP;
ITEM_ACTION[C_QUOTE] = QUOTE;
ITEM_ACTION[C_COMMA] = COMMA;
ITEM_ACTION[C_LPAREN] = ITEM_ACTION[C_LBRACKET] = ITEM_ACTION[C_LBRACE] = OPEN;
ITEM_ACTION[C_RPAREN] = ITEM_ACTION[C_RBRACKET] = ITEM_ACTION[C_RBRACE] = CLOSE;
ITEM_ACTION[C_LT] = LT;
ITEM_ACTION[C_SLASH] = SLASH;
/**
 * The same inside a structure, where commas separate nothing splitItems returns, and wherever
 * it only checks the items: a comma it need not stop at ends no run of plain characters.
 */
const NESTED_ITEM_ACTION = ITEM_ACTION.slice();
NESTED_ITEM_ACTION[C_COMMA] = PLAIN;

const encoder = new TextEncoder();

/**
 * Writes the codes of `text` into `into` (at least text.length + 1 long): a character's own
 * code if it is ASCII, 0xFF if not — the parser compares only with ASCII characters, so
 * that changes no decision — and a 0 after the end, which stops every scan as the end of a
 * string would. UTF-8 encoding is ASCII's identity and runs natively, hence encodeInto.
 */
function encodeCodes(text: string, into: Uint8Array): Uint8Array {
  const { read, written } = encoder.encodeInto(text, into);
  if (read !== text.length || written !== text.length) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      into[i] = c < 0x80 ? c : 0xff;
    }
  }
  into[text.length] = 0;
  return into;
}

/** Codes of a string built on a rare path (a joined or cut line). */
const codesOf = (text: string): Uint8Array => encodeCodes(text, new Uint8Array(text.length + 1));

/** Index just past the closing quote of a string whose body starts at `i`, or -1. */
function skipString(s: string, b: Uint8Array, i: number, end: number): number {
  for (;;) {
    const q = s.indexOf('"', i);
    if (q < 0 || q >= end) return -1;
    let backslashes = 0;
    for (let k = q - 1; k >= i && b[k] === C_BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    i = q + 1;
  }
}

/**
 * Index just past the `>` closing a -y/-yy decoration whose body starts at `i`, or -1.
 * Decorations nest (`2</dev/null<char 1:3>>`) and socket ones contain `->`
 * (`3<TCP:[10.0.0.1:5->10.0.0.2:80]>`); strace escapes `<` and `>` inside paths.
 */
function skipAngle(b: Uint8Array, i: number, end: number): number {
  let depth = 1;
  for (; i < end; i++) {
    const c = b[i];
    if (c === C_LT) depth++;
    else if (c === C_GT && b[i - 1] !== C_DASH && --depth === 0) return i + 1;
  }
  return -1;
}

/**
 * Appends s[from, to) as one item, without the blanks around it; empty ones are left out.
 * Leading blanks come from joined halves: `nanosleep({1, 0},  <unfinished ...>` resumed by
 * `<... nanosleep resumed> 0x7ff…)` leaves two blanks after the comma.
 */
function pushItem(out: string[] | null | false, s: string, b: Uint8Array, from: number, to: number): void {
  if (out === false) return;
  while (from < to && b[from] === C_SPACE) from++;
  while (to > from && b[to - 1] === C_SPACE) to--;
  if (to <= from) return;
  // Not out.push: V8 calls a builtin for that (a fresh [] holds small integers until its
  // first string), while an indexed store grows the array inline, in half the time.
  if (out !== null) {
    out[out.length] = s.slice(from, to);
  } else {
    if (spanCount * 2 + 2 > spans.length) {
      const bigger = new Int32Array(spans.length * 2);
      bigger.set(spans);
      spans = bigger;
    }
    spans[spanCount * 2] = from;
    spans[spanCount * 2 + 1] = to;
    spanCount++;
  }
}

/**
 * Where splitItems, given no array, leaves its items: start and end of each, in pairs. Read
 * right after the call that filled them (one line's arguments), so one buffer serves all parsers.
 */
let spans = new Int32Array(64);
let spanCount = 0;

/**
 * The items in `spans`, as slices of `s`, in an array of their exact size (an array grown item
 * by item from [] reserves 17 slots).
 */
function sliceSpans(s: string): string[] {
  const at = spans;
  switch (spanCount) {
    case 0:
      return [];
    case 1:
      return [s.slice(at[0]!, at[1]!)];
    case 2:
      return [s.slice(at[0]!, at[1]!), s.slice(at[2]!, at[3]!)];
    case 3:
      return [s.slice(at[0]!, at[1]!), s.slice(at[2]!, at[3]!), s.slice(at[4]!, at[5]!)];
    case 4:
      return [s.slice(at[0]!, at[1]!), s.slice(at[2]!, at[3]!), s.slice(at[4]!, at[5]!), s.slice(at[6]!, at[7]!)];
    default: {
      const items = [s.slice(at[0]!, at[1]!), s.slice(at[2]!, at[3]!), s.slice(at[4]!, at[5]!), s.slice(at[6]!, at[7]!)];
      for (let k = 4; k < spanCount; k++) items[k] = s.slice(at[2 * k]!, at[2 * k + 1]!);
      return items;
    }
  }
}

/**
 * Splits the top-level comma-separated items of s[i, end) into `out`, stopping at the
 * `close` character at depth 0 (whose index is returned). Strings, /* comments *\/ and -y
 * decorations are opaque. Given no `out` (null), it records the items' ranges in `spans`
 * instead; given false, it only checks them.
 * Returns -1 if the range ends first (unless `toEnd`, which takes what is there: the
 * arguments of a call that never resumed), or if it is malformed.
 */
function splitItems(
  s: string,
  b: Uint8Array,
  i: number,
  end: number,
  close: number,
  out: string[] | null | false,
  toEnd: boolean,
): number {
  let depth = 0;
  let from = i;
  for (;;) {
    // A plain run may overshoot `end` (whatever follows it is scanned as code, never read as
    // an item); the 0 or newline after the text stops it in any case.
    const actions = depth === 0 && out !== false ? ITEM_ACTION : NESTED_ITEM_ACTION;
    let action: number;
    // Four codes a round, in a third less time than one: V8 checks the arrays once a round.
    for (;;) {
      if ((action = actions[b[i]!]!) !== PLAIN) break;
      if ((action = actions[b[i + 1]!]!) !== PLAIN) {
        i += 1;
        break;
      }
      if ((action = actions[b[i + 2]!]!) !== PLAIN) {
        i += 2;
        break;
      }
      if ((action = actions[b[i + 3]!]!) !== PLAIN) {
        i += 3;
        break;
      }
      i += 4;
    }
    if (i >= end) break;
    switch (action) {
      case QUOTE:
        i = skipString(s, b, i + 1, end);
        if (i < 0) return -1;
        continue;
      case COMMA:
        pushItem(out, s, b, from, i);
        i++;
        if (b[i] === C_SPACE) i++;
        from = i;
        continue;
      case OPEN:
        depth++;
        break;
      case CLOSE:
        if (depth === 0) {
          if (b[i] !== close) return -1;
          pushItem(out, s, b, from, i);
          return i;
        }
        depth--;
        break;
      case LT:
        // `3</etc/passwd>` but not `1<<CAP_CHOWN` (capability sets) nor `<... resuming ...>`.
        if (i > from && isDigit(b[i - 1]!) && b[i + 1] !== C_LT) {
          i = skipAngle(b, i + 1, end);
          if (i < 0) return -1;
          continue;
        }
        break;
      case SLASH:
        if (b[i + 1] === C_STAR) {
          const endComment = s.indexOf("*/", i + 2);
          if (endComment < 0 || endComment >= end) return -1;
          i = endComment + 2;
          continue;
        }
        break;
    }
    i++;
  }
  if (!toEnd || depth !== 0) return -1;
  pushItem(out, s, b, from, end);
  return end;
}

/** Result of readTime; one object per parser, overwritten by each call. */
interface TimeScan {
  /** Index after the number, or -1 if there is none. */
  end: number;
  us: number;
  /** Set only if asked for: a duration needs µs alone. */
  seconds: number;
}

/**
 * Reads `SSSS.ffffff` (-ttt, -r, -T) or `HH:MM:SS[.ffffff]` (-t, -tt) at `i`. The µs come from
 * the digits, never through a float: an epoch stamp held in seconds as a double keeps only
 * about 0.2 µs of precision, too close to the µs it must be exact to.
 * Any non-digit ends a number, so the code after a line (a newline or the final 0) bounds it.
 * `withSeconds` asks for `seconds` too, which a stamp needs and a duration does not; sparing
 * durations the division measurably speeds up -T logs.
 */
function readTime(s: string, b: Uint8Array, i: number, out: TimeScan, withSeconds: boolean): void {
  out.end = -1;
  let c = b[i]!;
  if (!isDigit(c)) return;
  let whole = 0;
  do {
    whole = whole * 10 + c - C_0;
    c = b[++i]!;
  } while (isDigit(c));
  readTimeAfter(s, b, i, whole, out, withSeconds);
}

/** readTime once its first number, `whole`, is read; `i` is the index after it. */
function readTimeAfter(s: string, b: Uint8Array, i: number, whole: number, out: TimeScan, withSeconds: boolean): void {
  out.end = -1;
  let c = b[i]!;
  for (let part = 0; part < 2 && c === C_COLON; part++) {
    c = b[++i]!;
    if (!isDigit(c)) return;
    let field = 0;
    do {
      field = field * 10 + c - C_0;
      c = b[++i]!;
    } while (isDigit(c));
    whole = whole * 60 + field;
  }
  let fracUs = 0;
  let digits = 0;
  const fracStart = i + 1;
  if (c === C_DOT) {
    const sixDigits =
      isDigit(b[i + 1]!) && isDigit(b[i + 2]!) && isDigit(b[i + 3]!) && isDigit(b[i + 4]!) && isDigit(b[i + 5]!) && isDigit(b[i + 6]!);
    if (sixDigits && !isDigit(b[i + 7]!)) {
      // What -tt, -ttt and -T print, read without the loop's bookkeeping: the codes as digits,
      // less C_0 times 111111 for the six of them.
      fracUs = ((((b[i + 1]! * 10 + b[i + 2]!) * 10 + b[i + 3]!) * 10 + b[i + 4]!) * 10 + b[i + 5]!) * 10 + b[i + 6]! - C_0 * 111111;
      digits = 6;
      i += 7;
    } else {
      c = b[++i]!;
      while (isDigit(c)) {
        if (digits < 6) fracUs = fracUs * 10 + c - C_0;
        digits++;
        c = b[++i]!;
      }
      if (digits === 0) return;
    }
  }
  for (let d = digits; d < 6; d++) fracUs *= 10;
  out.end = i;
  out.us = whole * 1_000_000 + fracUs;
  // us / 1e6 is the correctly rounded value of the printed decimal; only finer-than-µs
  // stamps (--timestamps=ns) need the digits themselves.
  if (withSeconds) out.seconds = digits <= 6 ? out.us / 1_000_000 : Number(`${whole}.${s.slice(fracStart, i)}`);
}

/** What precedes the event on a line: `[pid N] ` or `N ` (-f), then an optional stamp. */
interface Prefix {
  pid: number | null;
  /**
   * NaN when the line has none: a field that holds null or a double boxes every double stored
   * in it (an allocation per line), one that holds only numbers keeps them in place.
   */
  ts: number;
  tsUs: number;
  /** Index of the event text. */
  body: number;
}

function readPrefix(
  s: string,
  b: Uint8Array,
  from: number,
  defaultPid: number | null,
  time: TimeScan,
  out: Prefix,
): void {
  let i = from;
  out.pid = defaultPid;
  out.ts = NaN;
  out.tsUs = NaN;
  /** Where a stamp that starts the line goes on after its first number, and that number. */
  let stampAt = -1;
  let stampWhole = 0;
  let c = b[i]!;
  if (c === C_LBRACKET && codesAt(b, i, PID_CODES)) {
    // strace pads the number: "[pid  6346] ".
    let j = i + 5;
    while ((c = b[j]!) === C_SPACE) j++;
    const digitsAt = j;
    let pid = 0;
    while (isDigit(c)) {
      pid = pid * 10 + c - C_0;
      c = b[++j]!;
    }
    if (j > digitsAt && c === C_RBRACKET) {
      out.pid = pid;
      i = j + 1;
    }
  } else if (isDigit(c)) {
    // With -o and -f the pid is a bare number; a stamp would go on with "." or ":".
    let j = i;
    let n = 0;
    do {
      n = n * 10 + c - C_0;
      c = b[++j]!;
    } while (isDigit(c));
    if (c === C_SPACE) {
      out.pid = n;
      i = j;
    } else {
      // The line starts with its stamp, whose first number is read.
      stampAt = j;
      stampWhole = n;
    }
  }
  let j = i;
  while ((c = b[j]!) === C_SPACE) j++;
  if (isDigit(c)) {
    if (stampAt < 0) readTime(s, b, j, time, true);
    else readTimeAfter(s, b, stampAt, stampWhole, time, true);
    if (time.end > 0 && b[time.end] === C_SPACE) {
      out.ts = time.seconds;
      out.tsUs = time.us;
      j = time.end + 1;
      while (b[j] === C_SPACE) j++;
    } else {
      j = i;
    }
  }
  // -i: the instruction pointer follows the stamp, `[d91767f4] ` (`[????????] ` once the task
  // is gone). No analysis here reads it, so it is skipped like the padding.
  if (b[j] === C_LBRACKET) {
    let k = j + 1;
    while (HEX_OR_QMARK[b[k]!] === 1) k++;
    if (k > j + 1 && b[k] === C_RBRACKET && b[k + 1] === C_SPACE) j = k + 2;
  }
  out.body = j;
}

/** A stamp field of a record: null where the parser (and a LineCall) holds NaN (see Prefix). */
export const orNull = (n: number): number | null => (n === n ? n : null);

/** exit and exit_group never return: for them "= ?" is the whole call. */
const exits = (name: string): boolean => name === "exit_group" || name === "exit";

function isBlank(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = b[i];
    if (c !== C_SPACE && c !== C_TAB) return false;
  }
  return true;
}

/** Creates a parser; feed it one strace output (one `-ff` file per parser). */
export function createStraceParser(options: StraceParserOptions = {}): StraceParser {
  const defaultPid = options.pid ?? null;
  const failedOnly = options.failedOnly === true;
  /** Whether the arguments of calls that did not fail go unread (only checked). */
  const failedArgsOnly = options.failedArgsOnly === true || failedOnly;
  const sink = options.sink ?? null;
  /** With a sink, the codes given to pushAscii while its piece is parsed (else null). */
  let pieceBytes: Uint8Array | null = null;
  /** What the sink is given for each call, overwritten by the next. */
  const lineCall: LineCall = {
    bytes: new Uint8Array(0),
    pid: null,
    ts: NaN,
    tsUs: NaN,
    nameAt: 0,
    nameEnd: 0,
    spans,
    spanCount: 0,
    retAt: 0,
    retEnd: 0,
    errno: null,
    errnoText: null,
    retNote: null,
    durationUs: null,
    unfinished: false,
  };
  /** Gives the sink the records a line made before a call it gets as a LineCall, or at the end of a push. */
  const flush = (out: StraceRecord[]): void => {
    if (out.length === 0) return;
    for (let k = 0; k < out.length; k++) sink!.add(out[k]!);
    out.length = 0;
  };
  let omitted = 0;
  // Keyed by pid; -1 stands for lines without one (strace omits the prefix while it traces
  // a single process, so a call started then may resume under "[pid N]").
  const pending = new Map<number, Pending>();
  /** The start of a line a tracer note cut off; the next line continues it. */
  let carry: string | null = null;
  /** An incomplete last line of the previous pushText piece. */
  let partial = "";
  /** Codes of the text being parsed, reused from piece to piece (grown when too small). */
  let scratch = new Uint8Array(0);
  const prefix: Prefix = { pid: null, ts: NaN, tsUs: NaN, body: 0 };
  const time: TimeScan = { end: -1, us: 0, seconds: 0 };
  /** Why finishSyscall returned false. */
  let failure = "";
  /** Between a -c table's header and its total row. */
  let inSummary = false;

  const scratchCodes = (text: string): Uint8Array => {
    if (scratch.length <= text.length) scratch = new Uint8Array(Math.max(text.length + 1, 2 * scratch.length));
    return encodeCodes(text, scratch);
  };
  /**
   * Codes of a text built while a piece is parsed (two joined halves, a signal's siginfo),
   * in a buffer of their own, reused: a fresh Uint8Array per line costs more than the scan.
   */
  let joinScratch = new Uint8Array(256);
  const joinedCodes = (text: string): Uint8Array => {
    if (joinScratch.length <= text.length) joinScratch = new Uint8Array(Math.max(text.length + 1, 2 * joinScratch.length));
    return encodeCodes(text, joinScratch);
  };

  const unparsed = (line: string, reason: string): UnparsedRecord => ({
    kind: "unparsed",
    pid: prefix.pid,
    ts: orNull(prefix.ts),
    tsUs: orNull(prefix.tsUs),
    line,
    reason,
  });

  /** The first half of a call, s[headAt, headEnd) being the arguments it printed. */
  const startCall = (
    s: string,
    b: Uint8Array,
    from: number,
    to: number,
    syscall: string,
    headAt: number,
    headEnd: number,
  ): Pending => {
    const headArgs = failedOnly ? null : [];
    let headCut = HeadCut.InsideItem;
    if (splitItems(s, b, headAt, headEnd, C_RPAREN, headArgs ?? false, true) === headEnd) {
      let last = headEnd - 1;
      while (last >= headAt && b[last] === C_SPACE) last--;
      headCut = last >= headAt && b[last] === C_COMMA ? HeadCut.BetweenItems : HeadCut.AfterItem;
    }
    return {
      pid: prefix.pid,
      ts: prefix.ts,
      tsUs: prefix.tsUs,
      syscall,
      head: s.slice(headAt, headEnd),
      headArgs,
      headCut,
      line: s.slice(from, to),
    };
  };

  /** Holds a first half until its `<... resumed>` line; one left waiting never resumed. */
  const suspend = (call: Pending, out: StraceRecord[]): void => {
    const key = call.pid ?? -1;
    const stale = pending.get(key);
    if (stale !== undefined) pushUnfinished(stale, out);
    pending.set(key, call);
  };

  /** A call that never returned: it has no errno, so failedOnly leaves it out. */
  const pushUnfinished = (p: Pending, out: StraceRecord[]): void => {
    if (failedOnly) omitted++;
    else out.push(unfinishedRecord(p));
  };

  const unfinishedRecord = (p: Pending): SyscallRecord => ({
    kind: "syscall",
    pid: p.pid,
    ts: orNull(p.ts),
    tsUs: orNull(p.tsUs),
    syscall: p.syscall,
    args: p.headArgs ?? [],
    ret: null,
    errno: null,
    errnoText: null,
    retNote: null,
    durationUs: null,
    resumed: false,
    unfinished: true,
  });

  /**
   * Completes a call from s[argsAt, end): its (remaining) arguments, appended to `headArgs`
   * (those its first half printed, or null; or, not split yet, those in `head`), then
   * `) = ret …`, and pushes its record (unless failedOnly leaves it out). Returns false, with
   * `failure` set, if that is not what strace prints. A `syscall` given as a number is where
   * its name starts in s, before the "(" that precedes argsAt: sliced only for a record,
   * which failedOnly makes for few calls.
   */
  const finishSyscall = (
    s: string,
    b: Uint8Array,
    argsAt: number,
    end: number,
    syscall: string | number,
    at: { pid: number | null; ts: number; tsUs: number },
    resumed: boolean,
    headArgs: string[] | null,
    head: string | null,
    out: StraceRecord[],
  ): boolean => {
    // `clock_nanosleep(…, {tv_sec=10, tv_nsec=0},  <unfinished ...>) = ?`: the process died
    // inside the call before strace could print the rest, and strace closes the line for it
    // (with -T, "= ? <unavailable>").
    const last = b[end - 1];
    if (last === C_QMARK || (last === C_GT && b[end - 2] === C_e && s.endsWith(UNAVAILABLE, end))) {
      // Searched in a slice: a search of s would run on through the rest of the piece.
      const rest = s.slice(argsAt, end);
      const cut = rest.indexOf(UNFINISHED);
      if (cut >= 0) {
        if (typeof syscall === "number") syscall = s.slice(syscall, argsAt - 1);
        s = rest.slice(0, cut) + rest.slice(cut + UNFINISHED.length);
        b = codesOf(s);
        argsAt = 0;
        end = s.length;
      }
    }
    // A call on one line (no items before these) leaves its items in `spans`, sliced into an
    // array of their number. With failedArgsOnly they are only checked, and found again once
    // the errno says the call failed: few calls fail, and recording spans for the others was
    // work thrown away.
    const fromSpans = headArgs === null || headArgs.length === 0;
    const items = !fromSpans ? headArgs : failedArgsOnly ? false : null;
    spanCount = 0;
    const close = splitItems(s, b, argsAt, end, C_RPAREN, items, false);
    if (close < 0) {
      failure = "unbalanced quotes or brackets in the arguments";
      return false;
    }
    let i = close + 1;
    while (b[i] === C_SPACE) i++;
    if (i >= end || b[i] !== C_EQ) {
      failure = 'no "= <return value>" after the arguments';
      return false;
    }
    i++;
    if (b[i] === C_SPACE) i++;
    const retAt = i;
    while (i < end) {
      const c = b[i];
      if (c === C_SPACE) break;
      if (c === C_LT && i > retAt) {
        i = skipAngle(b, i + 1, end);
        if (i < 0) {
          failure = "unbalanced <…> in the return value";
          return false;
        }
        continue;
      }
      i++;
    }
    if (i === retAt) {
      failure = "empty return value";
      return false;
    }
    const first = b[retAt];
    // Only "-…" and "?" come with an errno; the rest of a line cannot fail to parse.
    if (failedOnly && first !== C_DASH && first !== C_QMARK) {
      omitted++;
      return true;
    }
    const retEnd = i;
    while (i < end && b[i] === C_SPACE) i++;

    let noteEnd = end;
    let durationUs: number | null = null;
    if (noteEnd > i && b[noteEnd - 1] === C_GT) {
      let lt = noteEnd - 2;
      while (lt >= i && b[lt] !== C_LT) lt--;
      if (lt >= i) {
        readTime(s, b, lt + 1, time, false);
        // -T prints "<unavailable>" for a call the task died in.
        const unavailable = time.end < 0 && s.startsWith(UNAVAILABLE, lt) && lt + UNAVAILABLE.length === noteEnd;
        if (time.end === noteEnd - 1 || unavailable) {
          if (!unavailable) durationUs = time.us;
          noteEnd = lt;
          while (noteEnd > i && b[noteEnd - 1] === C_SPACE) noteEnd--;
        }
      }
    }

    let errno: string | null = null;
    let errnoText: string | null = null;
    if ((first === C_DASH || first === C_QMARK) && b[i] === C_E && i < noteEnd) {
      let j = i + 1;
      while (j < noteEnd && isUpperOrDigit(b[j]!)) j++;
      if (j === noteEnd || b[j] === C_SPACE) {
        errno = s.slice(i, j);
        i = j;
        while (i < noteEnd && b[i] === C_SPACE) i++;
        if (b[i] === C_LPAREN) {
          const rp = s.indexOf(")", i);
          if (rp > 0 && rp < noteEnd) {
            errnoText = s.slice(i + 1, rp);
            i = rp + 1;
            while (i < noteEnd && b[i] === C_SPACE) i++;
          }
        }
      }
    } else if (first === C_DASH && b[i] === C_LPAREN && s.startsWith(ERRNO_NUMBER, i)) {
      // `= -1 (errno 22)`: strace had no name for the errno (an old strace on a syscall it did
      // not know). The number is kept as the name, "errno22", so the failure still counts.
      let j = i + ERRNO_NUMBER.length;
      while (j < noteEnd && isDigit(b[j]!)) j++;
      if (j > i + ERRNO_NUMBER.length && b[j] === C_RPAREN) {
        errno = `errno${s.slice(i + ERRNO_NUMBER.length, j)}`;
        i = j + 1;
        while (i < noteEnd && b[i] === C_SPACE) i++;
      }
    }
    if (errno === null && failedOnly) {
      omitted++;
      return true;
    }
    const retNote = i < noteEnd ? s.slice(i, noteEnd) : null;
    // "= ?" without an errno: no return was ever seen, the task died inside the call (a
    // thread blocked in futex when another one exited the process). exit and exit_group
    // never return, so for them "= ?" is the whole call.
    const unknown = errno === null && retEnd === retAt + 1 && first === C_QMARK;
    if (items === null && b === pieceBytes && typeof syscall === "number") {
      const call = lineCall;
      call.bytes = b;
      call.pid = at.pid;
      call.ts = at.ts;
      call.tsUs = at.tsUs;
      call.nameAt = syscall;
      call.nameEnd = argsAt - 1;
      call.spans = spans;
      call.spanCount = spanCount;
      call.retAt = retAt;
      call.retEnd = retEnd;
      call.errno = errno;
      call.errnoText = errnoText;
      call.retNote = retNote;
      call.durationUs = durationUs;
      call.unfinished = unknown && !exits(s.slice(syscall, argsAt - 1));
      flush(out);
      sink!.addCall(call);
      return true;
    }
    const ret = s.slice(retAt, retEnd);
    const name = typeof syscall === "number" ? s.slice(syscall, argsAt - 1) : syscall;
    const unfinished = unknown && !exits(name);
    let args: string[];
    if (!fromSpans) {
      args = headArgs!;
    } else if (errno === null && failedArgsOnly) {
      args = [];
    } else {
      if (items === false) splitItems(s, b, argsAt, end, C_RPAREN, null, false);
      args = sliceSpans(s);
      if (head !== null) {
        const headItems: string[] = [];
        splitItems(head, codesOf(head), 0, head.length, C_RPAREN, headItems, true);
        args = headItems.concat(args);
      }
    }
    out.push({
      kind: "syscall",
      pid: at.pid,
      ts: orNull(at.ts),
      tsUs: orNull(at.tsUs),
      syscall: name,
      args,
      ret,
      errno,
      errnoText,
      retNote,
      durationUs,
      resumed,
      unfinished,
    });
    return true;
  };

  /** `--- SIGTERM {si_signo=SIGTERM, …} ---` and strace's `--- stopped by SIGSTOP ---`. */
  const parseSignal = (line: string, at: number): StraceRecord => {
    if (!line.endsWith(" ---") || line.length - 4 < at + 4) return unparsed(line, 'unterminated "--- … ---" line');
    const inner = line.slice(at + 4, line.length - 4);
    if (!inner.startsWith("SIG")) return { kind: "tracer", pid: prefix.pid, ts: orNull(prefix.ts), tsUs: orNull(prefix.tsUs), text: inner };
    const space = inner.indexOf(" ");
    const signal = space < 0 ? inner : inner.slice(0, space);
    let info: Record<string, string> = {};
    if (space >= 0) {
      const fields: string[] = [];
      if (
        inner.charCodeAt(space + 1) !== C_LBRACE ||
        splitItems(inner, joinedCodes(inner), space + 2, inner.length, C_RBRACE, fields, false) !== inner.length - 1
      ) {
        return unparsed(line, "signal line without a {siginfo} structure");
      }
      // fromEntries defines own properties, so a "__proto__" key stays data.
      info = Object.fromEntries(
        fields.map((f) => {
          const eq = f.indexOf("=");
          return eq < 0 ? [f, ""] : [f.slice(0, eq), f.slice(eq + 1)];
        }),
      );
    }
    return { kind: "signal", pid: prefix.pid, ts: orNull(prefix.ts), tsUs: orNull(prefix.tsUs), signal, info };
  };

  /** `+++ exited with 2 +++`, `+++ killed by SIGKILL (core dumped) +++`. */
  const parseExit = (line: string, at: number, out: StraceRecord[]): void => {
    const base = { pid: prefix.pid, ts: orNull(prefix.ts), tsUs: orNull(prefix.tsUs) };
    const inner = line.endsWith(" +++") ? line.slice(at + 4, line.length - 4) : "";
    const exited = EXITED.exec(inner);
    const killed = exited === null ? KILLED.exec(inner) : null;
    if (exited === null && killed === null) {
      const superseded = inner.startsWith("superseded by execve");
      out.push(superseded ? { kind: "tracer", ...base, text: inner } : unparsed(line, 'unknown "+++ … +++" line'));
      return;
    }
    // A thread that dies inside a call never resumes it.
    const open = pending.get(prefix.pid ?? -1);
    if (open !== undefined) {
      pending.delete(prefix.pid ?? -1);
      pushUnfinished(open, out);
    }
    out.push(
      exited !== null
        ? { kind: "exit", ...base, exitCode: Number(exited[1]) }
        : { kind: "killed", ...base, signal: killed![1]!, coreDumped: killed![2] !== undefined },
    );
  };

  /**
   * A line inside a -c table: a row (a record; the total row ends the table) or a rule, which
   * only draws the table. Anything else ends the table too, and is parsed as usual.
   */
  const parseSummaryLine = (line: string, out: StraceRecord[]): boolean => {
    if (SUMMARY_RULE.test(line)) return true;
    const row = SUMMARY_ROW.exec(line);
    if (row === null) {
      inSummary = false;
      return false;
    }
    const [, percent, seconds, fraction, usPerCall, calls, errors, name] = row as unknown as string[];
    const total = name === "total";
    if (total) inSummary = false;
    out.push({
      kind: "summary",
      pid: null,
      ts: null,
      tsUs: null,
      syscall: total ? null : name!,
      timePercent: Number(percent),
      totalUs: Number(seconds) * 1_000_000 + Number(fraction!.padEnd(6, "0")),
      usPerCall: Number(usPerCall),
      calls: Number(calls),
      errors: errors === undefined ? 0 : Number(errors),
    });
    return true;
  };

  /** `<... read resumed>…) = 3`: joined with its pending first half. */
  const parseResumed = (s: string, b: Uint8Array, from: number, to: number, at: number, out: StraceRecord[]): void => {
    const close = s.indexOf(" resumed>", at + 5);
    if (close < 0 || close >= to) {
      out.push(unparsed(s.slice(from, to), 'malformed "<... resumed>" line'));
      return;
    }
    const syscall = s.slice(at + 5, close);
    const key = prefix.pid ?? -1;
    let start = pending.get(key);
    let startKey = key;
    if ((start === undefined || start.syscall !== syscall) && key !== -1) {
      const unprefixed = pending.get(-1);
      if (unprefixed !== undefined && unprefixed.syscall === syscall) {
        start = unprefixed;
        startKey = -1;
      }
    }
    if (start === undefined || start.syscall !== syscall) {
      out.push(unparsed(s.slice(from, to), `"<... ${syscall} resumed>" without its "<unfinished ...>" line`));
      return;
    }
    pending.delete(startKey);
    const at2 = { pid: prefix.pid ?? start.pid, ts: start.ts, tsUs: start.tsUs };
    // The halves must split as their joined text would. They split on their own, sparing the
    // join and a rescan of the strings, when the cut is between two items, or when the rest
    // closes the call. Otherwise it is joined: strace does not always cut between arguments
    // (clone3's `{…} <unfinished ...>` resumes with ` => {parent_tid=[N]}, 88)`, the end of
    // its first argument).
    const restAt = close + 9;
    let k = restAt;
    while (b[k] === C_SPACE) k++;
    let finished: boolean;
    if (start.headCut === HeadCut.BetweenItems || (start.headCut === HeadCut.AfterItem && b[k] === C_RPAREN)) {
      const unsplit = start.headArgs === null ? start.head : null;
      finished = finishSyscall(s, b, restAt, to, syscall, at2, true, start.headArgs, unsplit, out);
    } else {
      const joined = start.head + s.slice(restAt, to);
      finished = finishSyscall(joined, joinedCodes(joined), 0, joined.length, syscall, at2, true, null, null, out);
    }
    if (!finished) out.push(unparsed(`${start.line}\n${s.slice(from, to)}`, failure));
  };

  /** One line, s[from, to) without its newline; `b` holds the codes of s. */
  const parseLine = (s: string, b: Uint8Array, from: number, to: number, out: StraceRecord[]): void => {
    if (to > from && b[to - 1] === C_CR) to--;
    if (carry !== null) {
      s = carry + s.slice(from, to);
      b = codesOf(s);
      from = 0;
      to = s.length;
      carry = null;
    }
    if (to > from && b[to - 1] === C_d) {
      const line = s.slice(from, to);
      const note = SPLICED_NOTE.exec(line);
      if (note !== null && note.index > 0) {
        const text = line.slice(note.index + 8);
        out.push({ kind: "tracer", pid: Number(NOTE_PID.exec(text)?.[1]), ts: null, tsUs: null, text });
        carry = line.slice(0, note.index);
        return;
      }
    }
    if (isBlank(b, from, to)) return;
    if (inSummary && parseSummaryLine(s.slice(from, to), out)) return;
    readPrefix(s, b, from, defaultPid, time, prefix);
    const at = prefix.body;
    const c = at < to ? b[at]! : 0;
    if (NAME_CHAR[c] === 1) {
      let j = at + 1;
      while (j < to && NAME_CHAR[b[j]!] === 1) j++;
      if (j < to && b[j] === C_LPAREN) {
        // Only lines ending in "...>" can be a first half or a detach.
        if (b[to - 1] === C_GT && b[to - 2] === C_DOT) {
          if (codesAt(b, to - UNFINISHED_CODES.length, UNFINISHED_CODES)) {
            suspend(startCall(s, b, from, to, s.slice(at, j), j + 1, to - UNFINISHED.length), out);
            return;
          }
          if (codesAt(b, to - DETACHED_CODES.length, DETACHED_CODES)) {
            // strace let go of the process (-p, then Ctrl-C) while it was inside the call.
            pushUnfinished(startCall(s, b, from, to, s.slice(at, j), j + 1, to - DETACHED.length), out);
            return;
          }
        }
        if (finishSyscall(s, b, j + 1, to, at, prefix, false, null, null, out)) return;
        const syscall = s.slice(at, j);
        // `writev(…, 4 <ptrace(SYSCALL):No such process>`: strace lost the task inside the call
        // (it was being killed) and later closes it as `<... writev resumed>) = ?`, so the line
        // is a first half, like one ending in <unfinished ...>.
        const line = s.slice(from, to);
        const note = b[to - 1] === C_GT ? line.lastIndexOf(PTRACE_NOTE) : -1;
        if (note > j - from) {
          suspend(startCall(s, b, from, to, syscall, j + 1, from + note), out);
          return;
        }
        out.push(unparsed(line, failure));
        return;
      }
      if (c === C_s && codesAt(b, at, NOTE_CODES)) {
        const text = s.slice(at + 8, to);
        const notePid = NOTE_PID.exec(text);
        const pid = notePid ? Number(notePid[1]) : prefix.pid;
        out.push({ kind: "tracer", pid, ts: orNull(prefix.ts), tsUs: orNull(prefix.tsUs), text });
        return;
      }
      if (c === C_P && at === from) {
        const text = s.slice(at, to);
        if (OLD_NOTE.test(text)) {
          out.push({ kind: "tracer", pid: Number(NOTE_PID.exec(text)![1]), ts: null, tsUs: null, text });
          return;
        }
      }
    } else if (c === C_LT && codesAt(b, at, RESUMED_CODES)) {
      parseResumed(s, b, from, to, at, out);
      return;
    } else if (c === C_DASH && codesAt(b, at, SIGNAL_CODES)) {
      out.push(parseSignal(s.slice(from, to), at - from));
      return;
    } else if (c === C_PLUS && codesAt(b, at, EXIT_CODES)) {
      parseExit(s.slice(from, to), at - from, out);
      return;
    } else if (c === C_LBRACKET && codesAt(b, at, PERSONALITY_CODES)) {
      // "[ Process PID=1234 runs in 32 bit mode. ]" (personality change).
      out.push({ kind: "tracer", pid: prefix.pid, ts: orNull(prefix.ts), tsUs: orNull(prefix.tsUs), text: s.slice(at, to) });
      return;
    }
    if (SUMMARY_HEADER.test(s.slice(from, to))) {
      // The header says what the columns are; the rows below carry the data.
      inSummary = true;
      return;
    }
    const reason = at >= to ? "nothing after the pid/timestamp" : "not a syscall, signal, exit or strace note";
    out.push(unparsed(s.slice(from, to), reason));
  };

  /**
   * pushText, pushAscii: `bytes`, if given, are the codes of `text`. Only lines followed by
   * their newline are parsed with them, so that newline, not a final 0, ends every scan.
   */
  const pushPiece = (text: string, bytes: Uint8Array | undefined): StraceRecord[] => {
    const out: StraceRecord[] = [];
    let from = 0;
    let nl = text.indexOf("\n");
    if (nl < 0) {
      partial += text;
      return out;
    }
    if (partial !== "") {
      const line = partial + text.slice(0, nl);
      parseLine(line, codesOf(line), 0, line.length, out);
      partial = "";
      from = nl + 1;
      nl = text.indexOf("\n", from);
    }
    const b = bytes ?? scratchCodes(text);
    if (sink !== null && bytes !== undefined) pieceBytes = bytes;
    while (nl >= 0) {
      parseLine(text, b, from, nl, out);
      from = nl + 1;
      nl = text.indexOf("\n", from);
    }
    pieceBytes = null;
    if (from < text.length) partial = text.slice(from);
    if (sink !== null) flush(out);
    return out;
  };

  return {
    push(line: string): StraceRecord[] {
      const out: StraceRecord[] = [];
      parseLine(line, scratchCodes(line), 0, line.length, out);
      if (sink !== null) flush(out);
      return out;
    },
    pushText: (text: string): StraceRecord[] => pushPiece(text, undefined),
    pushAscii: (bytes: Uint8Array, text: string): StraceRecord[] => pushPiece(text, bytes),
    end(): StraceRecord[] {
      const out: StraceRecord[] = [];
      if (partial !== "") {
        parseLine(partial, scratchCodes(partial), 0, partial.length, out);
        partial = "";
      }
      for (const p of pending.values()) pushUnfinished(p, out);
      pending.clear();
      if (carry !== null) {
        readPrefix(carry, scratchCodes(carry), 0, defaultPid, time, prefix);
        out.push(unparsed(carry, "the log ends inside a line cut by a strace note"));
        carry = null;
      }
      if (sink !== null) flush(out);
      return out;
    },
    omitted: (): number => omitted,
  };
}

/** Parses a whole capture held in memory (tests, small files). */
export function parseStraceText(text: string, options?: StraceParserOptions): StraceRecord[] {
  const parser = createStraceParser(options);
  const records = parser.pushText(text);
  for (const r of parser.end()) records.push(r);
  return records;
}

/** The pid strace -ff appended to an output file name (`trace.1234` → 1234). */
export function pidFromFileName(path: string): number | undefined {
  const m = /\.(\d{1,10})$/.exec(path);
  if (m === null) return undefined;
  const pid = Number(m[1]);
  return pid > 0 ? pid : undefined;
}
