import type { StraceRecord } from "./records.js";

// `--json` writes one line per record: a million lines, 2.5× the bytes of a 100 MB log. Built as
// strings (JSON.stringify, or templates) the lines cost more than parsing did — the shortest
// form of each float stamp, then flattening the batch's string and encoding it as UTF-8 again
// — so they are written as bytes, straight into the buffer that goes to stdout. The text is
// exactly JSON.stringify(record) + "\n" (same keys, order, escapes, numbers); a test holds it
// to that on every fixture.

/** Bytes of an ASCII literal. */
const bytesOf = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

const NULL = bytesOf("null");
const TRUE = bytesOf("true");
const FALSE = bytesOf("false");
const KIND = Object.fromEntries(
  (["syscall", "signal", "exit", "killed", "tracer", "summary", "unparsed"] as const).map((k) => [k, bytesOf(`{"kind":"${k}","pid":`)]),
) as Record<StraceRecord["kind"], Uint8Array>;
const K_TS = bytesOf(',"ts":');
const K_TS_US = bytesOf(',"tsUs":');
const K_SYSCALL = bytesOf(',"syscall":');
const K_ARGS = bytesOf(',"args":[');
const K_RET = bytesOf('],"ret":');
const K_ERRNO = bytesOf(',"errno":');
const K_ERRNO_TEXT = bytesOf(',"errnoText":');
const K_RET_NOTE = bytesOf(',"retNote":');
const K_DURATION = bytesOf(',"durationUs":');
/** The usual end of a syscall: no errno, no note, no duration (written as one constant). */
const NO_ERRNO_NOTE_DURATION = bytesOf(',"errno":null,"errnoText":null,"retNote":null,"durationUs":null');
/** `,"resumed":…,"unfinished":…}` and the newline, by [resumed][unfinished]. */
const SYSCALL_END = [false, true].map((resumed) =>
  [false, true].map((unfinished) => bytesOf(`,"resumed":${resumed},"unfinished":${unfinished}}\n`)),
);
const K_SIGNAL = bytesOf(',"signal":');
const K_INFO = bytesOf(',"info":');
const K_EXIT_CODE = bytesOf(',"exitCode":');
const K_CORE = bytesOf(',"coreDumped":');
const K_TEXT = bytesOf(',"text":');
const K_TIME_PERCENT = bytesOf(',"timePercent":');
const K_TOTAL_US = bytesOf(',"totalUs":');
const K_US_PER_CALL = bytesOf(',"usPerCall":');
const K_CALLS = bytesOf(',"calls":');
const K_ERRORS = bytesOf(',"errors":');
const K_LINE = bytesOf(',"line":');
const K_REASON = bytesOf(',"reason":');

const C_QUOTE = 34;
const C_BACKSLASH = 92;
const C_COMMA = 44;
const HEX = bytesOf("0123456789abcdef");
/** `uXXXX` for the code unit c, written after a backslash at `at`; returns the new position. */
function hexEscape(b: Uint8Array, c: number, at: number): number {
  b[at++] = 117;
  b[at++] = HEX[c >> 12]!;
  b[at++] = HEX[(c >> 8) & 15]!;
  b[at++] = HEX[(c >> 4) & 15]!;
  b[at++] = HEX[c & 15]!;
  return at;
}

/** JSON.stringify's short escapes (\b \t \n \f \r); other control characters become \u00XX. */
const SHORT_ESCAPE = new Uint8Array(32);
SHORT_ESCAPE[8] = 98;
SHORT_ESCAPE[9] = 116;
SHORT_ESCAPE[10] = 110;
SHORT_ESCAPE[12] = 102;
SHORT_ESCAPE[13] = 114;

/** 1 for the ASCII characters JSON writes as they are: not a quote, a backslash or a control one. */
const AS_IS = new Uint8Array(128);
for (let c = 32; c < 128; c++) AS_IS[c] = c === C_QUOTE || c === C_BACKSLASH ? 0 : 1;
/** Constants longer than this are copied by TypedArray#set. */
const LONG_LITERAL = 24;

/** Stamps below this many µs (about the year 2096 as epoch seconds) keep every µs digit in `ts`. */
const EXACT_STAMP_US = 4e15;

/** Collects JSON lines as UTF-8 bytes; `take` hands them over and starts a new buffer. */
export interface JsonLines {
  add(record: StraceRecord): void;
  take(): Buffer;
}

export function createJsonLines(): JsonLines {
  // A plain Uint8Array, not a Buffer: byte stores into one kind of array stay monomorphic.
  let buf = new Uint8Array(1 << 18);
  let pos = 0;

  const room = (bytes: number): void => {
    if (pos + bytes <= buf.length) return;
    const bigger = new Uint8Array(Math.max(2 * buf.length, pos + bytes));
    bigger.set(buf.subarray(0, pos));
    buf = bigger;
  };

  /** A constant: a loop beats TypedArray#set's call for short ones, not for the longest. */
  const literal = (bytes: Uint8Array): void => {
    room(bytes.length);
    if (bytes.length > LONG_LITERAL) {
      buf.set(bytes, pos);
      pos += bytes.length;
      return;
    }
    const b = buf;
    let p = pos;
    for (let i = 0; i < bytes.length; i++) b[p++] = bytes[i]!;
    pos = p;
  };

  /** Digits of a non-negative integer below 10^8, in 32-bit arithmetic. */
  const smallDigits = (n: number, minWidth: number): void => {
    let width = 1;
    for (let m = n; m >= 10; m = (m / 10) | 0) width++;
    if (width < minWidth) width = minWidth;
    const b = buf;
    let m = n;
    for (let i = pos + width - 1; i >= pos; i--) {
      const q = (m / 10) | 0;
      b[i] = 48 + m - 10 * q;
      m = q;
    }
    pos += width;
  };

  /** Digits of a non-negative integer below 2^53: two 32-bit halves. */
  const digits = (n: number): void => {
    room(16);
    if (n < 1e8) {
      smallDigits(n, 1);
      return;
    }
    const high = Math.floor(n / 1e8);
    if (high < 1e8) smallDigits(high, 1);
    else digits(high);
    smallDigits(n - high * 1e8, 8);
  };

  /** A number as JSON.stringify writes it; integers without a detour through a string. */
  const number = (n: number): void => {
    if (Number.isSafeInteger(n)) {
      if (n < 0) {
        room(1);
        buf[pos++] = 45;
        digits(-n);
      } else {
        digits(n);
      }
      return;
    }
    raw(JSON.stringify(n));
  };

  const numberOrNull = (n: number | null): void => (n === null ? literal(NULL) : number(n));

  /**
   * `ts`, which the parser sets to tsUs / 1e6 unless the stamp had ns. Below EXACT_STAMP_US
   * doubles are closer together than 1 µs, so no decimal shorter than the µs digits names the
   * same double: JSON.stringify(ts) is those digits with trailing zeros cut, written here
   * without computing a double's shortest form, the costliest step of a record.
   */
  const stamp = (ts: number | null, tsUs: number | null): void => {
    if (ts === null || tsUs === null || tsUs < 0 || tsUs >= EXACT_STAMP_US || ts !== tsUs / 1e6) {
      numberOrNull(ts);
      return;
    }
    const whole = Math.floor(tsUs / 1e6);
    let fraction = tsUs - whole * 1e6;
    digits(whole);
    if (fraction === 0) return;
    room(7);
    buf[pos++] = 46;
    let width = 6;
    while (fraction % 10 === 0) {
      fraction /= 10;
      width--;
    }
    smallDigits(fraction, width);
  };

  /**
   * Characters from s[start] on as UTF-8, escaped as JSON.stringify escapes a string's body
   * when `escape`.
   */
  const chars = (s: string, escape: boolean, start = 0): void => {
    room(6 * s.length);
    const b = buf;
    let p = pos;
    for (let i = start; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        if (escape && (c < 32 || c === C_QUOTE || c === C_BACKSLASH)) {
          b[p++] = C_BACKSLASH;
          if (c >= 32) b[p++] = c;
          else if (SHORT_ESCAPE[c] !== 0) b[p++] = SHORT_ESCAPE[c]!;
          else p = hexEscape(b, c, p);
        } else {
          b[p++] = c;
        }
      } else if (c < 0x800) {
        b[p++] = 0xc0 | (c >> 6);
        b[p++] = 0x80 | (c & 0x3f);
      } else if (c >= 0xd800 && c < 0xe000) {
        const next = c < 0xdc00 && i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
        if (next >= 0xdc00 && next < 0xe000) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          b[p++] = 0xf0 | (cp >> 18);
          b[p++] = 0x80 | ((cp >> 12) & 0x3f);
          b[p++] = 0x80 | ((cp >> 6) & 0x3f);
          b[p++] = 0x80 | (cp & 0x3f);
          i++;
        } else {
          // A lone surrogate: JSON.stringify writes \udXXX rather than invalid UTF-8.
          b[p++] = C_BACKSLASH;
          p = hexEscape(b, c, p);
        }
      } else {
        b[p++] = 0xe0 | (c >> 12);
        b[p++] = 0x80 | ((c >> 6) & 0x3f);
        b[p++] = 0x80 | (c & 0x3f);
      }
    }
    pos = p;
  };

  const raw = (json: string): void => chars(json, false);

  const string = (s: string): void => {
    const length = s.length;
    room(length + 2);
    const b = buf;
    let p = pos;
    b[p++] = C_QUOTE;
    // The characters a string usually holds go as they are, in one plain loop; from the
    // first that does not (a quote, a backslash, a control or non-ASCII one) on, chars.
    let i = 0;
    for (; i < length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80 || AS_IS[c] === 0) break;
      b[p++] = c;
    }
    pos = p;
    if (i < length) chars(s, true, i);
    room(1);
    buf[pos++] = C_QUOTE;
  };

  const stringOrNull = (s: string | null): void => (s === null ? literal(NULL) : string(s));
  const boolean = (b: boolean): void => literal(b ? TRUE : FALSE);

  return {
    add(r: StraceRecord): void {
      literal(KIND[r.kind]);
      numberOrNull(r.pid);
      literal(K_TS);
      stamp(r.ts, r.tsUs);
      literal(K_TS_US);
      numberOrNull(r.tsUs);
      switch (r.kind) {
        case "syscall":
          literal(K_SYSCALL);
          string(r.syscall);
          literal(K_ARGS);
          for (let i = 0; i < r.args.length; i++) {
            if (i > 0) {
              room(1);
              buf[pos++] = C_COMMA;
            }
            string(r.args[i]!);
          }
          literal(K_RET);
          stringOrNull(r.ret);
          if (r.errno === null && r.errnoText === null && r.retNote === null && r.durationUs === null) {
            literal(NO_ERRNO_NOTE_DURATION);
          } else {
            literal(K_ERRNO);
            stringOrNull(r.errno);
            literal(K_ERRNO_TEXT);
            stringOrNull(r.errnoText);
            literal(K_RET_NOTE);
            stringOrNull(r.retNote);
            literal(K_DURATION);
            numberOrNull(r.durationUs);
          }
          literal(SYSCALL_END[r.resumed ? 1 : 0]![r.unfinished ? 1 : 0]!);
          return;
        case "signal":
          literal(K_SIGNAL);
          string(r.signal);
          literal(K_INFO);
          raw(JSON.stringify(r.info));
          break;
        case "exit":
          literal(K_EXIT_CODE);
          number(r.exitCode);
          break;
        case "killed":
          literal(K_SIGNAL);
          string(r.signal);
          literal(K_CORE);
          boolean(r.coreDumped);
          break;
        case "tracer":
          literal(K_TEXT);
          string(r.text);
          break;
        case "summary":
          literal(K_SYSCALL);
          stringOrNull(r.syscall);
          literal(K_TIME_PERCENT);
          number(r.timePercent);
          literal(K_TOTAL_US);
          number(r.totalUs);
          literal(K_US_PER_CALL);
          number(r.usPerCall);
          literal(K_CALLS);
          number(r.calls);
          literal(K_ERRORS);
          number(r.errors);
          break;
        case "unparsed":
          literal(K_LINE);
          string(r.line);
          literal(K_REASON);
          string(r.reason);
          break;
      }
      room(2);
      buf[pos++] = 125;
      buf[pos++] = 10;
    },
    take(): Buffer {
      const out = Buffer.from(buf.buffer, buf.byteOffset, pos);
      // The bytes handed over may wait in a stream's queue: the next ones go to a new buffer,
      // left unfilled (every byte handed over is written first).
      const next = Buffer.allocUnsafeSlow(buf.length);
      buf = new Uint8Array(next.buffer, next.byteOffset, next.length);
      pos = 0;
      return out;
    },
  };
}
