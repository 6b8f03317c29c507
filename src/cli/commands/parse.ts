import { isAscii } from "node:buffer";
import { once } from "node:events";
import { open } from "node:fs/promises";
import type { Command } from "commander";
import { HarnessError } from "../../errors.js";
import type { StraceRecord } from "../../parse/records.js";
import { createStraceParser, pidFromFileName } from "../../parse/strace.js";
import { createFailureSummary, type FailureRow } from "../../parse/strace-summary.js";

const EXAMPLES = `
Examples:
  $ strace -f -ttt -T -y -o trace.log ./server
  $ forensics parse strace trace.log
      failed syscalls grouped by (syscall, path, errno), with counts and pids

  $ strace -ff -ttt -o trace ./server        # one file per process: trace.<pid>
  $ forensics parse strace --json trace.* | jq 'select(.kind == "signal")'
      one JSON record per line: syscall, signal, exit, killed, tracer or unparsed`;

// Reads of this size keep memory flat however long the log is, and make per-read costs (a
// syscall, an await) vanish next to parsing.
const READ_BYTES = 1 << 20;
// The records of one batch are alive together; batches this small die young, where V8's GC
// is cheap (1 MB batches made parsing twice as slow, their records outliving a scavenge).
const BATCH_BYTES = 64 * 1024;
/** Room left before each read for the end of a line the previous read cut. */
const CUT_LINE_ROOM = 64 * 1024;

export function register(program: Command): void {
  const parse = program
    .command("parse")
    .description("Turn a raw capture into typed records, offline (no container or tracer needed).");
  parse
    .command("strace")
    .description(
      "Parse strace output (-f or -ff, -t/-tt/-ttt/-r, -T, -y) and show the failed syscalls, or every record as JSON.",
    )
    .argument("<file...>", "strace logs; for -ff output pass every <prefix>.<pid> file (the pid comes from the name)")
    .option("--json", "print every record as one JSON object per line instead of the table")
    .addHelpText("after", EXAMPLES)
    .action(async (files: string[], options: { json?: boolean }) => {
      if (options.json === true) await printJson(files);
      else await printFailureTable(files);
    });
}

/**
 * Streams one strace log through a parser, in batches of whole lines; `onRecords` receives
 * each batch's records and may return a promise to hold reading back (stdout backpressure).
 */
export async function parseStraceFile(
  path: string,
  onRecords: (records: StraceRecord[]) => void | Promise<void>,
): Promise<void> {
  const handle = await open(path, "r").catch((err: unknown) => {
    throw cannotRead(path, err);
  });
  const parser = createStraceParser({ pid: pidFromFileName(path) });
  // Two buffers: the next read runs (in libuv's thread pool, on another core) while this
  // one is parsed.
  let current = Buffer.allocUnsafe(CUT_LINE_ROOM + READ_BYTES);
  let spare = Buffer.allocUnsafe(CUT_LINE_ROOM + READ_BYTES);
  const read = (into: Buffer): Promise<number> => {
    const bytesRead = handle.read(into, CUT_LINE_ROOM, READ_BYTES, null).then(
      (r) => r.bytesRead,
      // Only read errors are the file's fault; whatever onRecords throws passes through.
      (err: unknown) => {
        throw cannotRead(path, err);
      },
    );
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
        // same text, 5× faster than UTF-8 decoding.
        const held = onRecords(parser.pushText(bytes.toString(isAscii(bytes) ? "latin1" : "utf8")));
        if (held !== undefined) await held;
        from = to;
      }
      if (bytesRead === 0) break;
      cut = Buffer.from(data.subarray(whole));
      [current, spare] = [spare, current];
    }
    await onRecords(parser.end());
  } finally {
    // A read still in flight (onRecords threw) must end before the file is closed.
    await reading.catch(() => undefined);
    await handle.close();
  }
}

function cannotRead(path: string, err: unknown): HarnessError {
  const e = err as NodeJS.ErrnoException;
  // Node's message is "ENOENT: no such file or directory, open 'x'"; keep the middle part.
  const reason = /^[A-Z]+: (.+?)(?:, \w+(?: '.*')?)?$/.exec(e.message ?? "")?.[1] ?? String(err);
  return new HarnessError("BAD_INPUT", `cannot read ${path}: ${reason}${e.code ? ` (${e.code})` : ""}`, {
    cause: err,
  });
}

async function printJson(files: string[]): Promise<void> {
  const out = process.stdout;
  // A reader that stops early (`| head`) closes the pipe: stop quietly, as other tools do.
  let broken = false;
  const onError = (err: NodeJS.ErrnoException): void => {
    if (err.code === "EPIPE") broken = true;
  };
  out.on("error", onError);
  try {
    for (const file of files) {
      await parseStraceFile(file, async (records) => {
        if (broken || records.length === 0) return;
        let text = "";
        for (const r of records) text += `${JSON.stringify(r)}\n`;
        if (!out.write(text)) await once(out, "drain");
      });
      if (broken) return;
    }
  } catch (err) {
    if (!broken) throw err;
  } finally {
    out.off("error", onError);
  }
}

async function printFailureTable(files: string[]): Promise<void> {
  const summary = createFailureSummary();
  let records = 0;
  let unparsed = 0;
  for (const file of files) {
    let fileRecords = 0;
    let fileUnparsed = 0;
    await parseStraceFile(file, (batch) => {
      for (const r of batch) {
        if (r.kind === "unparsed") fileUnparsed++;
        else summary.add(r);
      }
      fileRecords += batch.length;
    });
    if (fileRecords > 0 && fileUnparsed === fileRecords) {
      throw new HarnessError(
        "BAD_INPUT",
        `${file} does not look like strace output (0 of ${fileRecords} lines parsed); ` +
          "expected lines like 'openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY) = 3', as written by strace -o",
      );
    }
    records += fileRecords;
    unparsed += fileUnparsed;
  }
  const rows = summary.rows();
  const table = rows.length === 0 ? "no failed syscalls\n" : formatFailureTable(rows);
  const plural = files.length === 1 ? "file" : "files";
  process.stdout.write(`${table}\n${records} records from ${files.length} ${plural}, ${unparsed} unparsed\n`);
}

/** Decoded paths may hold newlines or escapes; a table cell must stay on its line. */
const printable = (text: string): string =>
  text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);

/** Most pids a row lists before it says how many more there are. */
const MAX_PIDS = 8;

export function formatFailureTable(rows: FailureRow[]): string {
  const cells = rows.map((r) => {
    const shown = r.pids.slice(0, MAX_PIDS).join(",");
    const more = r.pids.length > MAX_PIDS ? `,… (+${r.pids.length - MAX_PIDS})` : "";
    return [r.syscall, r.path === null ? "-" : printable(r.path), r.errno, String(r.count), r.pids.length === 0 ? "-" : shown + more];
  });
  const header = ["SYSCALL", "PATH", "ERRNO", "COUNT", "PIDS"];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const COUNT = 3;
  const line = (c: string[]): string =>
    c
      .map((cell, i) => (i === COUNT ? cell.padStart(widths[i]!) : i === c.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join("  ");
  return `${[header, ...cells].map(line).join("\n")}\n`;
}
