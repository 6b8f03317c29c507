import type { StraceRecord, SyscallRecord } from "./records.js";
import { orNull, type LineCall, type RecordSink } from "./strace.js";

// `--json` writes one line per record: a million lines, 2.5× the bytes of a 100 MB log. Built as
// strings (JSON.stringify, or templates) the lines cost more than parsing did — the shortest
// form of each float stamp, then flattening the batch's string and encoding it as UTF-8 again
// — so they are written as bytes, straight into the buffer that goes to stdout. The text is
// exactly JSON.stringify(record) + "\n" (same keys, order, escapes, numbers); a test holds it
// to that on every fixture.
//
// A syscall read from one line comes as the bytes the log was read into (a LineCall, given to
// the parser as its sink): made into a record of strings, only to be encoded back into the
// same bytes, it cost more than the rest of the writer, and a good part of the parser.
//
// The writers are plain functions of (view, position) returning the next position, called
// after one check per record that the buffer has room for its longest possible text: V8
// inlines most of them, and a position kept in a local costs nothing (one kept in the
// closure was loaded and stored around every byte). A DataView, as it writes the constants —
// more than half of the bytes — four at a time.

/** Bytes of an ASCII literal. */
const bytesOf = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

/**
 * Writes an ASCII constant at p and returns the position after it: one store per 32-bit
 * little-endian word, zeros after its end, so up to 3 bytes past it are written too (what
 * follows overwrites them, or they lie past the text handed over).
 */
type Literal = (v: DataView, p: number) => number;

/**
 * The constant's writer is generated, its words in the stores' code: a shared loop over a
 * table of words took 236 M instructions of a 20 MB log's --json (a load, a bounds check and
 * the loop's own checks per word), the generated writers 100 M. Per MB of log once warm,
 * 94.8 → 87.8 M instructions (callgrind, 20 MB run less 10 MB run). The text is the tool's
 * own constant, never input.
 */
const literalOf = (text: string): Literal => {
  const words = new Uint32Array(Math.ceil(text.length / 4));
  for (let i = 0; i < text.length; i++) words[i >> 2]! |= text.charCodeAt(i) << (8 * (i & 3));
  const stores = Array.from(words, (w, i) => `v.setUint32(p + ${4 * i}, ${w}, true);`).join("");
  return new Function("v", "p", `${stores} return p + ${text.length};`) as Literal;
};

const NULL = literalOf("null");
const TRUE = literalOf("true");
const FALSE = literalOf("false");
const KIND = Object.fromEntries(
  (["syscall", "signal", "exit", "killed", "tracer", "summary", "unparsed"] as const).map((k) => [k, literalOf(`{"kind":"${k}","pid":`)]),
) as Record<StraceRecord["kind"], Literal>;
const K_TS = literalOf(',"ts":');
const K_TS_US = literalOf(',"tsUs":');
const K_SYSCALL = literalOf(',"syscall":');
const K_ARGS = literalOf(',"args":[');
/** `,"syscall":"` and `","args":[`: a syscall's name has nothing to escape (it is checked). */
const K_SYSCALL_OPEN = literalOf(',"syscall":"');
const K_SYSCALL_CLOSE_ARGS = literalOf('","args":[');
const K_RET = literalOf('],"ret":');
const K_ERRNO = literalOf(',"errno":');
const K_ERRNO_TEXT = literalOf(',"errnoText":');
const K_RET_NOTE = literalOf(',"retNote":');
const K_DURATION = literalOf(',"durationUs":');
/** The usual middle of a syscall: no errno, no note; then its duration. */
const NO_ERRNO_NOTE = literalOf(',"errno":null,"errnoText":null,"retNote":null,"durationUs":');
const ENDS = [false, true].map((resumed) => [false, true].map((unfinished) => `,"resumed":${resumed},"unfinished":${unfinished}}\n`));
/** `,"resumed":…,"unfinished":…}` and the newline, by [resumed][unfinished]. */
const SYSCALL_END = ENDS.map((byUnfinished) => byUnfinished.map((end) => literalOf(end)));
/** The same after NO_ERRNO_NOTE and no duration, as one constant. */
const NO_DURATION_END = ENDS.map((byUnfinished) => byUnfinished.map((end) => literalOf(`null${end}`)));
const K_SIGNAL = literalOf(',"signal":');
const K_INFO = literalOf(',"info":');
const K_EXIT_CODE = literalOf(',"exitCode":');
const K_CORE = literalOf(',"coreDumped":');
const K_TEXT = literalOf(',"text":');
const K_TIME_PERCENT = literalOf(',"timePercent":');
const K_TOTAL_US = literalOf(',"totalUs":');
const K_US_PER_CALL = literalOf(',"usPerCall":');
const K_CALLS = literalOf(',"calls":');
const K_ERRORS = literalOf(',"errors":');
const K_LINE = literalOf(',"line":');
const K_REASON = literalOf(',"reason":');
const RECORD_END = literalOf("}\n");

const C_QUOTE = 34;
const C_BACKSLASH = 92;
const C_COMMA = 44;
const C_DOT = 46;
const C_0 = 48;
const C_u = 117;
const HEX = bytesOf("0123456789abcdef");
/** "00" to "99": digits go two per division. */
const DIGIT_PAIRS = bytesOf(Array.from({ length: 100 }, (_, n) => String(n).padStart(2, "0")).join(""));

/**
 * What follows the backslash JSON.stringify puts before an ASCII character: 0 for none (the
 * character goes as it is), `u` for the \u00XX form, else the letter of a short escape.
 */
const ESCAPE = new Uint8Array(128);
for (let c = 0; c < 32; c++) ESCAPE[c] = C_u;
ESCAPE[8] = 98; // \b
ESCAPE[9] = 116; // \t
ESCAPE[10] = 110; // \n
ESCAPE[12] = 102; // \f
ESCAPE[13] = 114; // \r
ESCAPE[C_QUOTE] = C_QUOTE;
ESCAPE[C_BACKSLASH] = C_BACKSLASH;

/** The characters of syscall names, none of which JSON escapes. */
const NAME_CHAR = new Uint8Array(128);
for (const c of bytesOf("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_?")) NAME_CHAR[c] = 1;

/** UTF-8 bytes of JSON for one UTF-16 code unit, at most: `\u001f` or a lone surrogate's `\udXXX`. */
const BYTES_PER_CHAR = 6;
/**
 * Room for everything of a record but its strings: keys, constants (and the 3 bytes a word
 * may write past one), and up to 8 numbers of at most 24 characters (`-1.2345678901234567e-308`).
 */
const RECORD_BYTES = 512;

/** Stamps below this many µs (about the year 2096 as epoch seconds) keep every µs digit in `ts`. */
const EXACT_STAMP_US = 4e15;

/** The bytes d[from, to) at p, a word at a time: up to 3 bytes past them are written too, read from past `to`. */
function copyWords(v: DataView, p: number, d: DataView<ArrayBufferLike>, from: number, to: number): number {
  for (let i = from; i < to; i += 4) v.setUint32(p + i - from, d.getUint32(i, true), true);
  return p + to - from;
}

/** `uXXXX` for the code unit c, written after a backslash at `p`. */
function putHexEscape(v: DataView, p: number, c: number): number {
  v.setUint8(p, C_u);
  v.setUint8(p + 1, HEX[c >> 12]!);
  v.setUint8(p + 2, HEX[(c >> 8) & 15]!);
  v.setUint8(p + 3, HEX[(c >> 4) & 15]!);
  v.setUint8(p + 4, HEX[c & 15]!);
  return p + 5;
}

/**
 * The digits of n (a non-negative integer below 10^8) right-aligned to end before `end`, and
 * zeros down to `start`; 32-bit arithmetic, two digits per division.
 */
function fillDigits(v: DataView, start: number, end: number, n: number): void {
  let i = end;
  while (n >= 100) {
    const q = (n / 100) | 0;
    const pair = 2 * (n - 100 * q);
    v.setUint8(--i, DIGIT_PAIRS[pair + 1]!);
    v.setUint8(--i, DIGIT_PAIRS[pair]!);
    n = q;
  }
  if (n >= 10) {
    v.setUint8(--i, DIGIT_PAIRS[2 * n + 1]!);
    v.setUint8(--i, DIGIT_PAIRS[2 * n]!);
  } else {
    v.setUint8(--i, C_0 + n);
  }
  while (i > start) v.setUint8(--i, C_0);
}

/** How many digits a non-negative integer below 10^8 has. */
const widthOf = (n: number): number =>
  n < 1e4 ? (n < 10 ? 1 : n < 100 ? 2 : n < 1e3 ? 3 : 4) : n < 1e6 ? (n < 1e5 ? 5 : 6) : n < 1e7 ? 7 : 8;

/** A non-negative integer below 2^53: two 32-bit halves. */
function putDigits(v: DataView, p: number, n: number): number {
  if (n < 1e8) {
    const end = p + widthOf(n);
    fillDigits(v, p, end, n);
    return end;
  }
  const high = Math.floor(n / 1e8);
  p = putDigits(v, p, high);
  fillDigits(v, p, p + 8, n - high * 1e8);
  return p + 8;
}

/** A number as JSON.stringify writes it; integers without a detour through a string. */
function putNumber(v: DataView, p: number, n: number): number {
  if (!Number.isSafeInteger(n)) return putChars(v, p, JSON.stringify(n), false, 0);
  if (n >= 0) return putDigits(v, p, n);
  v.setUint8(p, 45);
  return putDigits(v, p + 1, -n);
}

const putNumberOrNull = (v: DataView, p: number, n: number | null): number =>
  n === null ? NULL(v, p) : putNumber(v, p, n);

/** The ASCII character c as it stands in a JSON string: itself, or escaped as JSON.stringify escapes it. */
function putAscii(v: DataView, p: number, c: number): number {
  const e = ESCAPE[c]!;
  if (e === 0) {
    v.setUint8(p, c);
    return p + 1;
  }
  v.setUint8(p, C_BACKSLASH);
  if (e === C_u) return putHexEscape(v, p + 1, c);
  v.setUint8(p + 1, e);
  return p + 2;
}

/**
 * Characters from s[start] on as UTF-8, escaped as JSON.stringify escapes a string's body
 * when `escape`.
 */
function putChars(v: DataView, p: number, s: string, escape: boolean, start: number): number {
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (escape) p = putAscii(v, p, c);
      else v.setUint8(p++, c);
    } else if (c < 0x800) {
      v.setUint8(p++, 0xc0 | (c >> 6));
      v.setUint8(p++, 0x80 | (c & 0x3f));
    } else if (c >= 0xd800 && c < 0xe000) {
      const next = c < 0xdc00 && i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next < 0xe000) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        v.setUint8(p++, 0xf0 | (cp >> 18));
        v.setUint8(p++, 0x80 | ((cp >> 12) & 0x3f));
        v.setUint8(p++, 0x80 | ((cp >> 6) & 0x3f));
        v.setUint8(p++, 0x80 | (cp & 0x3f));
        i++;
      } else {
        // A lone surrogate: JSON.stringify writes \udXXX rather than invalid UTF-8.
        v.setUint8(p++, C_BACKSLASH);
        p = putHexEscape(v, p, c);
      }
    } else {
      v.setUint8(p++, 0xe0 | (c >> 12));
      v.setUint8(p++, 0x80 | ((c >> 6) & 0x3f));
      v.setUint8(p++, 0x80 | (c & 0x3f));
    }
  }
  return p;
}

/** A JSON string: ASCII (what strace prints) in the loop here, from the first other character on by putChars. */
function putString(v: DataView, p: number, s: string): number {
  v.setUint8(p++, C_QUOTE);
  const length = s.length;
  let i = 0;
  while (i < length) {
    // Four characters a round while none is escaped, stored as one word.
    while (i + 4 <= length) {
      const c0 = s.charCodeAt(i);
      const c1 = s.charCodeAt(i + 1);
      const c2 = s.charCodeAt(i + 2);
      const c3 = s.charCodeAt(i + 3);
      if ((c0 | c1 | c2 | c3) >= 0x80 || (ESCAPE[c0]! | ESCAPE[c1]! | ESCAPE[c2]! | ESCAPE[c3]!) !== 0) break;
      v.setUint32(p, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24), true);
      p += 4;
      i += 4;
    }
    if (i >= length) break;
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      p = putChars(v, p, s, true, i);
      break;
    }
    p = putAscii(v, p, c);
    i++;
  }
  v.setUint8(p, C_QUOTE);
  return p + 1;
}

/**
 * A JSON string of the ASCII bytes src[from, to): what putString writes for their text, read
 * from the bytes a LineCall points into rather than from a string. `words` views the same
 * bytes.
 */
function putByteString(v: DataView, p: number, src: Uint8Array, words: DataView<ArrayBufferLike>, from: number, to: number): number {
  v.setUint8(p++, C_QUOTE);
  let i = from;
  while (i < to) {
    // Four bytes a round while none is escaped, tested as one word (the bytes are ASCII): a
    // byte below 0x20, a quote or a backslash sets the top bit of its byte in `hit`.
    while (i + 4 <= to) {
      const x = words.getInt32(i, true);
      const quote = x ^ 0x22222222;
      const backslash = x ^ 0x5c5c5c5c;
      const hit =
        (((x - 0x20202020) | 0) & ~x) | (((quote - 0x01010101) | 0) & ~quote) | (((backslash - 0x01010101) | 0) & ~backslash);
      if ((hit & 0x80808080) !== 0) break;
      v.setInt32(p, x, true);
      p += 4;
      i += 4;
    }
    if (i >= to) break;
    const c = src[i]!;
    p = putAscii(v, p, c);
    i++;
  }
  v.setUint8(p, C_QUOTE);
  return p + 1;
}

const putStringOrNull = (v: DataView, p: number, s: string | null): number =>
  s === null ? NULL(v, p) : putString(v, p, s);

/**
 * A syscall's name at p if it is letters, digits, `_` and `?` only (what strace prints),
 * which JSON writes as they are; -1 if not, after writing some of it.
 */
function putPlainName(v: DataView, p: number, name: string): number {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (NAME_CHAR[c] !== 1) return -1;
    v.setUint8(p + i, c);
  }
  return p + name.length;
}

/** A syscall's fields after `ret`, and the end of its line. */
function putSyscallEnd(
  v: DataView,
  p: number,
  errno: string | null,
  errnoText: string | null,
  retNote: string | null,
  durationUs: number | null,
  resumed: 0 | 1,
  unfinished: 0 | 1,
): number {
  if (errno === null && errnoText === null && retNote === null) {
    p = NO_ERRNO_NOTE(v, p);
    if (durationUs === null) return NO_DURATION_END[resumed]![unfinished]!(v, p);
    p = putNumber(v, p, durationUs);
  } else {
    p = K_ERRNO(v, p);
    p = putStringOrNull(v, p, errno);
    p = K_ERRNO_TEXT(v, p);
    p = putStringOrNull(v, p, errnoText);
    p = K_RET_NOTE(v, p);
    p = putStringOrNull(v, p, retNote);
    p = K_DURATION(v, p);
    p = putNumberOrNull(v, p, durationUs);
  }
  return SYSCALL_END[resumed]![unfinished]!(v, p);
}

/**
 * Collects JSON lines as UTF-8 bytes, of records and of a parser's LineCalls (the parser's
 * sink); `take` hands them over and starts a new buffer.
 */
export interface JsonLines extends RecordSink {
  take(): Buffer;
  /**
   * Gives back what take() handed over, once nothing reads it any more (written): its buffer
   * is filled again instead of a new one. Output buffers live outside V8's heap and die only
   * when a GC finds them; few records, few GCs (arguments left in bytes allocate little), and
   * tens of MB of written output could wait for one.
   */
  recycle(taken: Buffer): void;
}

/** Most given-back buffers kept: a caller gives each back before it takes the next, or soon after. */
const MAX_SPARE = 2;

export function createJsonLines(): JsonLines {
  let buf: Buffer = Buffer.allocUnsafeSlow(1 << 18);
  let view = new DataView(buf.buffer, buf.byteOffset, buf.length);
  let pos = 0;
  const spare: Buffer[] = [];

  /** Makes room for `bytes` more; returns the view to write them through. */
  const room = (bytes: number): DataView => {
    if (pos + bytes > buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(2 * buf.length, pos + bytes));
      buf.copy(bigger, 0, 0, pos);
      buf = bigger;
      view = new DataView(buf.buffer, buf.byteOffset, buf.length);
    }
    return view;
  };

  // The digits of the last stamp, right-aligned to end at STAMP_END, at least 7 of them
  // (zeros in front) so that `ts` below 1 s has its "0." too. Stamps of a log share their
  // leading digits, whose division is spared while they do.
  const STAMP_END = 24;
  /** 4 bytes more than the digits: they are copied a word at a time, up to 3 bytes past their end. */
  const stampDigits = new DataView(new ArrayBuffer(STAMP_END + 4));
  /** tsUs / 10^8, whose digits stampDigits holds before its last 8; -1 for none yet. */
  let stampHigh = -1;
  let stampHighAt = STAMP_END - 8;

  /**
   * `ts`, `"tsUs":` and `tsUs`. The parser sets ts to tsUs / 1e6 unless the stamp had ns.
   * Below EXACT_STAMP_US doubles are closer together than 1 µs, so no decimal shorter than
   * the µs digits names the same double: JSON.stringify(ts) is those digits with trailing
   * zeros cut, written here without computing a double's shortest form.
   */
  const putStamps = (v: DataView, p: number, ts: number | null, tsUs: number | null): number => {
    if (ts === null || tsUs === null || !(tsUs >= 0 && tsUs < EXACT_STAMP_US) || ts !== tsUs / 1e6 || !Number.isInteger(tsUs)) {
      p = putNumberOrNull(v, p, ts);
      p = K_TS_US(v, p);
      return putNumberOrNull(v, p, tsUs);
    }
    const d = stampDigits;
    const high = Math.floor(tsUs / 1e8);
    const low = tsUs - high * 1e8;
    fillDigits(d, STAMP_END - 8, STAMP_END, low);
    let usAt: number;
    if (high === 0) {
      usAt = STAMP_END - 8;
      while (usAt < STAMP_END - 1 && d.getUint8(usAt) === C_0) usAt++;
    } else {
      if (high !== stampHigh) {
        stampHigh = high;
        stampHighAt = STAMP_END - 8 - widthOf(high);
        fillDigits(d, stampHighAt, STAMP_END - 8, high);
      }
      usAt = stampHighAt;
    }
    // ts: the whole seconds ("0" at least), then the µs without their trailing zeros.
    const tsAt = Math.min(usAt, STAMP_END - 7);
    p = copyWords(v, p, d, tsAt, STAMP_END - 6);
    let last = STAMP_END;
    while (last > STAMP_END - 6 && d.getUint8(last - 1) === C_0) last--;
    if (last > STAMP_END - 6) {
      v.setUint8(p++, C_DOT);
      p = copyWords(v, p, d, STAMP_END - 6, last);
    }
    p = K_TS_US(v, p);
    return copyWords(v, p, d, usAt, STAMP_END);
  };

  /** The bytes of the last LineCall written, and a view of them that reads words. */
  let callSource: Uint8Array | null = null;
  let callWords: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

  const putSyscall = (r: SyscallRecord): void => {
    const args = r.args;
    let chars = r.syscall.length + (r.ret?.length ?? 0) + (r.errno?.length ?? 0) + (r.errnoText?.length ?? 0) + (r.retNote?.length ?? 0);
    for (let i = 0; i < args.length; i++) chars += args[i]!.length + 3;
    const v = room(RECORD_BYTES + BYTES_PER_CHAR * chars);
    let p = KIND.syscall(v, pos);
    p = putNumberOrNull(v, p, r.pid);
    p = K_TS(v, p);
    p = putStamps(v, p, r.ts, r.tsUs);
    const name = r.syscall;
    const nameEnd = putPlainName(v, K_SYSCALL_OPEN(v, p), name);
    if (nameEnd >= 0) {
      p = K_SYSCALL_CLOSE_ARGS(v, nameEnd);
    } else {
      p = K_SYSCALL(v, p);
      p = putString(v, p, name);
      p = K_ARGS(v, p);
    }
    for (let i = 0; i < args.length; i++) {
      if (i > 0) v.setUint8(p++, C_COMMA);
      p = putString(v, p, args[i]!);
    }
    p = K_RET(v, p);
    p = putStringOrNull(v, p, r.ret);
    pos = putSyscallEnd(v, p, r.errno, r.errnoText, r.retNote, r.durationUs, r.resumed ? 1 : 0, r.unfinished ? 1 : 0);
  };

  /** What putSyscall writes for the record a LineCall stands for, from its bytes. */
  const putCall = (c: LineCall): void => {
    const src = c.bytes;
    if (src !== callSource) {
      callSource = src;
      callWords = new DataView(src.buffer, src.byteOffset, src.length);
    }
    const spans = c.spans;
    const n = 2 * c.spanCount;
    let chars = c.retEnd - c.retAt + (c.errno?.length ?? 0) + (c.errnoText?.length ?? 0) + (c.retNote?.length ?? 0);
    // Items of one line, in order, with a comma at least between two: the bytes from the first
    // to the end of the last count each item's, and one more per item but the last.
    if (n > 0) chars += spans[n - 1]! - spans[0]! + 3;
    const v = room(RECORD_BYTES + c.nameEnd - c.nameAt + BYTES_PER_CHAR * chars);
    let p = KIND.syscall(v, pos);
    p = putNumberOrNull(v, p, c.pid);
    p = K_TS(v, p);
    p = putStamps(v, p, orNull(c.ts), orNull(c.tsUs));
    // A name the parser read is letters, digits, `_` and `?`: nothing to escape.
    p = K_SYSCALL_OPEN(v, p);
    p = copyWords(v, p, callWords, c.nameAt, c.nameEnd);
    p = K_SYSCALL_CLOSE_ARGS(v, p);
    for (let k = 0; k < n; k += 2) {
      if (k > 0) v.setUint8(p++, C_COMMA);
      p = putByteString(v, p, src, callWords, spans[k]!, spans[k + 1]!);
    }
    p = K_RET(v, p);
    p = putByteString(v, p, src, callWords, c.retAt, c.retEnd);
    pos = putSyscallEnd(v, p, c.errno, c.errnoText, c.retNote, c.durationUs, 0, c.unfinished ? 1 : 0);
  };

  /** Every other kind: few in a log. */
  const putOther = (r: Exclude<StraceRecord, SyscallRecord>): void => {
    const info = r.kind === "signal" ? JSON.stringify(r.info) : "";
    let chars = info.length;
    if (r.kind === "signal" || r.kind === "killed") chars += r.signal.length;
    else if (r.kind === "tracer") chars += r.text.length;
    else if (r.kind === "summary") chars += r.syscall?.length ?? 0;
    else if (r.kind === "unparsed") chars += r.line.length + r.reason.length;
    const v = room(RECORD_BYTES + BYTES_PER_CHAR * chars);
    let p = KIND[r.kind](v, pos);
    p = putNumberOrNull(v, p, r.pid);
    p = K_TS(v, p);
    p = putStamps(v, p, r.ts, r.tsUs);
    switch (r.kind) {
      case "signal":
        p = K_SIGNAL(v, p);
        p = putString(v, p, r.signal);
        p = K_INFO(v, p);
        p = putChars(v, p, info, false, 0);
        break;
      case "exit":
        p = K_EXIT_CODE(v, p);
        p = putNumber(v, p, r.exitCode);
        break;
      case "killed":
        p = K_SIGNAL(v, p);
        p = putString(v, p, r.signal);
        p = K_CORE(v, p);
        p = (r.coreDumped ? TRUE : FALSE)(v, p);
        break;
      case "tracer":
        p = K_TEXT(v, p);
        p = putString(v, p, r.text);
        break;
      case "summary":
        p = K_SYSCALL(v, p);
        p = putStringOrNull(v, p, r.syscall);
        p = K_TIME_PERCENT(v, p);
        p = putNumber(v, p, r.timePercent);
        p = K_TOTAL_US(v, p);
        p = putNumber(v, p, r.totalUs);
        p = K_US_PER_CALL(v, p);
        p = putNumber(v, p, r.usPerCall);
        p = K_CALLS(v, p);
        p = putNumber(v, p, r.calls);
        p = K_ERRORS(v, p);
        p = putNumber(v, p, r.errors);
        break;
      case "unparsed":
        p = K_LINE(v, p);
        p = putString(v, p, r.line);
        p = K_REASON(v, p);
        p = putString(v, p, r.reason);
        break;
    }
    pos = RECORD_END(v, p);
  };

  return {
    add(r: StraceRecord): void {
      if (r.kind === "syscall") putSyscall(r);
      else putOther(r);
    },
    addCall: putCall,
    take(): Buffer {
      const out = buf.subarray(0, pos);
      // The bytes handed over may wait in a stream's queue: the next ones go to another
      // buffer, left unfilled (every byte handed over is written first).
      buf = spare.pop() ?? Buffer.allocUnsafeSlow(buf.length);
      view = new DataView(buf.buffer, buf.byteOffset, buf.length);
      pos = 0;
      return out;
    },
    recycle(taken: Buffer): void {
      // A buffer of take()'s, whole: allocUnsafeSlow gives each its own ArrayBuffer. One
      // outgrown by a record too long for it is left to the GC.
      const whole = taken.buffer;
      if (taken.byteOffset === 0 && whole.byteLength === buf.length && spare.length < MAX_SPARE) spare.push(Buffer.from(whole));
    },
  };
}
