import { isAscii } from "node:buffer";
import { constants, open as openFd } from "node:fs";
import { open, stat } from "node:fs/promises";
import { promisify } from "node:util";
import { HarnessError } from "../errors.js";
import type { StraceRecord } from "../parse/records.js";
import { createStraceParser, pidFromFileName, type StraceParserOptions } from "../parse/strace.js";
import { onCleanup } from "../cleanup.js";

// The streaming reader of a strace capture on disk, shared by `forensics parse strace` and
// the benchmark; the parser it feeds stays pure.

// Reads of this size keep memory flat however long the log is, and make per-read costs (a
// syscall, an await) vanish next to parsing.
const READ_BYTES = 1 << 20;
// The records of one batch are alive together; batches this small die young, where V8's GC
// is cheap (1 MB batches made parsing twice as slow, their records outliving a scavenge).
const BATCH_BYTES = 64 * 1024;
/** Room left before each read for the end of a line the previous read cut. */
const CUT_LINE_ROOM = 64 * 1024;

/**
 * Streams one strace log through a parser, in batches of whole lines; `onRecords` receives
 * each batch's records and may return a promise to hold reading back (stdout backpressure).
 * `options` go to the parser; its pid comes from the file name. Returns how many records
 * the parser left out (options.failedOnly).
 */
export async function parseStraceFile(
  path: string,
  onRecords: (records: StraceRecord[]) => void | Promise<void>,
  options: Omit<StraceParserOptions, "pid"> = {},
): Promise<number> {
  const source = await openSource(path);
  const parser = createStraceParser({ ...options, pid: pidFromFileName(path) });
  // Two buffers: the next read runs (in libuv's thread pool, on another core) while this
  // one is parsed.
  let current = Buffer.allocUnsafe(CUT_LINE_ROOM + READ_BYTES);
  let spare = Buffer.allocUnsafe(CUT_LINE_ROOM + READ_BYTES);
  const read = (into: Buffer): Promise<number> => {
    // Only read errors are the file's fault; whatever onRecords throws passes through.
    const bytesRead = source.read(into, CUT_LINE_ROOM, READ_BYTES).catch((err: unknown) => {
      throw cannotRead(path, err);
    });
    // Awaited later: a read failing while a batch is being handled is not unhandled.
    bytesRead.catch(() => undefined);
    return bytesRead;
  };
  let reading = read(current);
  /** The start of a line whose end is not read yet. */
  let cut = Buffer.alloc(0);
  try {
    for (;;) {
      const bytesRead = await reading;
      if (bytesRead > 0) reading = read(spare);
      const end = CUT_LINE_ROOM + bytesRead;
      let data: Buffer;
      if (cut.length <= CUT_LINE_ROOM) {
        cut.copy(current, CUT_LINE_ROOM - cut.length);
        data = current.subarray(CUT_LINE_ROOM - cut.length, end);
      } else {
        data = Buffer.concat([cut, current.subarray(CUT_LINE_ROOM, end)]);
      }
      // Whole lines only, so no UTF-8 character is cut in two; at the end, whatever is left.
      const whole = bytesRead === 0 ? data.length : data.lastIndexOf(10) + 1;
      for (let from = 0; from < whole; ) {
        const nl = data.indexOf(10, Math.min(from + BATCH_BYTES, whole) - 1);
        const to = nl < 0 || nl >= whole ? whole : nl + 1;
        const bytes = data.subarray(from, to);
        // An ASCII log (strace escapes what is not) decodes as latin1, a plain copy; the
        // same text, 5× faster than UTF-8 decoding. Its bytes are then the parser's codes
        // as they are, which spares it encoding the text back. They go as a plain
        // Uint8Array: a Buffer would make the parser's byte reads see two kinds of array
        // (its own codes are Uint8Arrays), which measurably slows them.
        const held = onRecords(
          isAscii(bytes)
            ? parser.pushAscii(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), bytes.toString("latin1"))
            : parser.pushText(bytes.toString("utf8")),
        );
        if (held !== undefined) await held;
        from = to;
      }
      if (bytesRead === 0) break;
      cut = Buffer.from(data.subarray(whole));
      [current, spare] = [spare, current];
    }
    await onRecords(parser.end());
    return parser.omitted();
  } finally {
    // A read still in flight (onRecords threw) must end before the file is closed.
    await reading.catch(() => undefined);
    await source.close();
  }
}

/** Where a log's bytes come from: a file read at its position, or a pipe as data arrives. */
interface Source {
  /** Reads up to `length` bytes into `into` at `offset`; 0 at the end. */
  read(into: Buffer, offset: number, length: number): Promise<number>;
  close(): Promise<void>;
}

async function openSource(path: string): Promise<Source> {
  const info = await stat(path).catch((err: unknown) => {
    throw cannotRead(path, err);
  });
  if (info.isFIFO()) return openPipe(path);
  const handle = await open(path, "r").catch((err: unknown) => {
    throw cannotRead(path, err);
  });
  return {
    read: async (into, offset, length) => (await handle.read(into, offset, length, null)).bytesRead,
    close: () => handle.close(),
  };
}

/**
 * A FIFO (`mkfifo`, or `<(strace -o /dev/stdout …)`), read through the event loop. Opened and
 * read like a file, it would wait for a writer in open() and for data in read() inside libuv's
 * thread pool, where nothing can interrupt it, and the process could not exit on Ctrl-C until
 * a writer came. Opened with O_NONBLOCK it opens at once, and as a socket it is polled: it
 * still waits for a writer (Linux reports no hang-up on a FIFO no writer has opened yet), and
 * ends when the last writer closes. Ctrl-C destroys it, which ends the parse.
 */
async function openPipe(path: string): Promise<Source> {
  const fd = await promisify(openFd)(path, constants.O_RDONLY | constants.O_NONBLOCK).catch((err: unknown) => {
    throw cannotRead(path, err);
  });
  // Loaded here, not with the module: net and what it loads cost every `parse strace` a few ms
  // of start-up, and only a FIFO needs them.
  const { Socket } = await import("node:net");
  const socket = new Socket({ fd, readable: true, writable: false });
  const forget = onCleanup(() => void socket.destroy());
  const chunks = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  /** What a read had no room for. */
  let rest: Buffer | null = null;
  return {
    async read(into, offset, length) {
      let chunk = rest;
      rest = null;
      if (chunk === null) {
        const next = await chunks.next();
        if (next.done === true) return 0;
        chunk = next.value;
      }
      const n = chunk.copy(into, offset, 0, Math.min(chunk.length, length));
      if (n < chunk.length) rest = chunk.subarray(n);
      return n;
    },
    async close() {
      forget();
      socket.destroy();
    },
  };
}

function cannotRead(path: string, err: unknown): HarnessError {
  const e = err as NodeJS.ErrnoException;
  // Node's message is "ENOENT: no such file or directory, open 'x'"; keep the middle part.
  const reason = /^[A-Z]+: (.+?)(?:, \w+(?: '.*')?)?$/.exec(e.message ?? "")?.[1] ?? String(err);
  return new HarnessError("BAD_INPUT", `cannot read ${path}: ${reason}${e.code ? ` (${e.code})` : ""}`, {
    cause: err,
  });
}

