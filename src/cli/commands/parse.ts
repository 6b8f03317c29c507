import { once } from "node:events";
import type { Command } from "commander";
import { parseStraceFile } from "../../capture/strace-file.js";
import { HarnessError } from "../../errors.js";
import { createJsonLines } from "../../parse/record-json.js";
import type { SummaryRecord } from "../../parse/records.js";
import { createFailureSummary, type FailureRow } from "../../parse/strace-summary.js";

const EXAMPLES = `
Examples:
  $ strace -f -ttt -T -y -o trace.log ./server
  $ forensics parse strace trace.log
      failed syscalls grouped by (syscall, path, errno), with counts and pids

  $ strace -ff -ttt -o trace ./server        # one file per process: trace.<pid>
  $ forensics parse strace --json trace.* | jq 'select(.kind == "signal")'
      one JSON record per line: syscall, signal, exit, killed, tracer or unparsed`;

export async function register(program: Command, argv: readonly string[] = []): Promise<void> {
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
  // gdb and kernel pull in zod and their parsers, a tenth of a second of start-up that
  // `parse strace` on a log does not need; help and every other subcommand get them.
  if (argv[3] === "strace") return;
  const [{ registerParseKernel }, { registerParseGdb }] = await Promise.all([import("./parse-kernel.js"), import("./parse-gdb.js")]);
  registerParseKernel(parse);
  registerParseGdb(parse);
}

async function printJson(files: string[]): Promise<void> {
  const out = process.stdout;
  // A reader that stops early (`| head`) closes the pipe: stop quietly, as other tools do.
  let broken = false;
  const onError = (err: NodeJS.ErrnoException): void => {
    if (err.code === "EPIPE") broken = true;
  };
  out.on("error", onError);
  // The parser hands each record to the writer as it goes (its sink): a call as the bytes
  // read, which are valid only then.
  const lines = createJsonLines();
  const options = { sink: lines };
  try {
    for (const file of files) {
      await parseStraceFile(file, async () => {
        const chunk = lines.take();
        if (broken || chunk.length === 0) {
          lines.recycle(chunk);
          return;
        }
        const ready = out.write(chunk);
        // Nothing left queued: the chunk went to the OS at once (a file, a pipe with room), and
        // its buffer can be filled again. A write callback would come only once the event loop
        // turns, which a fast read may not let it do for many chunks.
        if (out.writableLength === 0) lines.recycle(chunk);
        else if (!ready) await once(out, "drain");
      }, options);
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
  /** Rows of a -c/-C table with failures: strace counted them, the trace may not show them. */
  const counted: SummaryRecord[] = [];
  let records = 0;
  let unparsed = 0;
  for (const file of files) {
    let fileRecords = 0;
    let fileUnparsed = 0;
    // The table reads failed calls only; the others are counted.
    const options = { failedOnly: true };
    const omitted = await parseStraceFile(file, (batch) => {
      for (const r of batch) {
        if (r.kind === "unparsed") fileUnparsed++;
        else if (r.kind === "summary") {
          if (r.syscall !== null && r.errors > 0) counted.push(r);
        } else summary.add(r);
      }
      fileRecords += batch.length;
    }, options);
    fileRecords += omitted;
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
  let table = rows.length === 0 ? "no failed syscalls\n" : formatFailureTable(rows);
  if (counted.length > 0) table += `\nfailed calls as strace -c counted them:\n${formatCountedTable(counted)}`;
  const plural = files.length === 1 ? "file" : "files";
  process.stdout.write(`${table}\n${records} records from ${files.length} ${plural}, ${unparsed} unparsed\n`);
}

/** The -c rows with errors, most errors first. */
function formatCountedTable(rows: SummaryRecord[]): string {
  const cells = [...rows]
    .sort((a, b) => b.errors - a.errors || (a.syscall! < b.syscall! ? -1 : 1))
    .map((r) => [r.syscall!, String(r.errors), String(r.calls)]);
  const header = ["SYSCALL", "ERRORS", "CALLS"];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  return `${[header, ...cells].map(line).join("\n")}\n`;
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
