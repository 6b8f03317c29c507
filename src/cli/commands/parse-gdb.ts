import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { HarnessError } from "../../errors.js";
import { readGoRuntime, splitSnapshots, type GoRuntimeReading } from "../../evidence/go-runtime.js";
import type { GdbRecord } from "../../parse/gdb-records.js";
import { parseGdbText } from "../../parse/gdb.js";

const EXAMPLES = `
Examples:
  $ forensics parse gdb raw/namespace-none-go1.26/t001/gdb.log
      threads, breakpoint hits, backtraces, printed values and the Go runtime's signal state

  $ gdb -batch -p $(pidof server) -ex "info threads" -ex "p 'runtime.sig'" -ex "thread apply all bt" > bug.txt
  $ forensics parse gdb --json bug.txt | jq 'select(.kind == "backtrace")'
      one JSON record per line: threads, registers, value, backtrace, breakpoint-hit, … or unparsed`;

/** `forensics parse gdb`: registered by parse.ts on its `parse` command. */
export function registerParseGdb(parse: Command): void {
  parse
    .command("gdb")
    .description("Parse gdb console output (a harness gdb.log or text pasted from a terminal) into records, or summarise it.")
    .argument("<file...>", "gdb transcripts or pasted console text")
    .option("--json", "print every record as one JSON object per line instead of the summary")
    .addHelpText("after", EXAMPLES)
    .action(async (files: string[], options: { json?: boolean }) => {
      for (const file of files) {
        const text = await readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
          throw new HarnessError("BAD_INPUT", `cannot read ${file}: ${err.code ?? err.message}`);
        });
        const records = parseGdbText(text);
        if (records.length > 0 && records.every((r) => r.kind === "unparsed")) {
          throw new HarnessError(
            "BAD_INPUT",
            `${file} does not look like gdb output (0 of ${records.length} lines understood); expected lines such as "$1 = {…}", "#0  main.main () at …" or "(gdb) info threads"`,
          );
        }
        process.stdout.write(options.json === true ? records.map((r) => `${JSON.stringify(r)}\n`).join("") : summarizeGdb(file, records));
      }
    });
}

/** The readable summary: what the transcript shows, then what the Go runtime state was at each snapshot. */
export function summarizeGdb(file: string, records: GdbRecord[]): string {
  const out: string[] = [`${file}: ${records.length} records`];
  // `thread N` and stops print the current frame as `#0 …`: only asked-for backtraces are worth a line.
  let command: string | null = null;
  for (const r of records) {
    switch (r.kind) {
      case "command":
        command = r.command;
        break;
      case "threads":
        out.push(`threads (${r.threads.length}):`, ...r.threads.map((t) => `  ${t.current ? "*" : " "} ${t.id} LWP ${t.lwp ?? "?"} ${t.frame}`));
        break;
      case "breakpoint-hit":
        out.push(`thread ${r.thread ?? "?"} (LWP ${r.lwp ?? "?"}) hit breakpoint ${r.breakpoint ?? "?"} in ${r.func ?? "??"}(${Object.entries(r.args ?? {}).map(([k, v]) => `${k}=${v}`).join(", ")})`);
        break;
      case "backtrace": {
        if (command !== null && !/^(?:bt|backtrace|where|thread apply|t a)\b/.test(command)) break;
        const signal = r.frames.findIndex((f) => f.signalFrame);
        const top = r.frames.slice(0, 3).map((f) => f.func ?? "??").join(" < ");
        out.push(`backtrace thread ${r.thread ?? "?"}: ${r.frames.length} frames, ${top}${signal >= 0 ? `, signal frame at #${signal}` : ""}`);
        break;
      }
      case "exited":
        out.push(r.signal === null ? `target ${r.pid ?? ""} exited with ${r.exitCode}` : `target killed by ${r.signal}`);
        break;
      case "error":
        out.push(`error: ${r.command ?? "?"}: ${r.text}`);
        break;
      case "signal-stop":
        out.push(`thread ${r.thread ?? "?"} stopped by ${r.signal}`);
        break;
      default:
        break;
    }
  }
  const snapshots = splitSnapshots(records);
  const readings = snapshots.length > 0 ? snapshots.map(readGoRuntime) : [readGoRuntime(records)];
  readings.forEach((reading, i) => out.push(...describeReading(readings.length > 1 ? `snapshot ${i + 1}` : "runtime", reading)));
  const unparsed = records.filter((r) => r.kind === "unparsed").length;
  out.push(`${unparsed} unparsed`);
  return `${out.join("\n")}\n`;
}

function describeReading(label: string, reading: GoRuntimeReading): string[] {
  if (reading.kind === "no-dwarf") return [`${label}: ${reading.reason}`];
  const lines: string[] = [];
  const names = (xs: string[]) => (xs.length === 0 ? "-" : xs.join(","));
  if (reading.sig) {
    const s = reading.sig;
    lines.push(`${label}: runtime.sig mask=${names(s.mask)} wanted=${names(s.wanted)} ignored=${names(s.ignored)} recv=${names(s.recv)} state=${s.state} delivering=${s.delivering} inuse=${s.inuse}`);
  }
  if (reading.handlers) lines.push(`${label}: os/signal.handlers.ref ${Object.entries(reading.handlers).map(([k, v]) => `${k}=${v}`).join(" ") || "-"}`);
  for (const t of reading.threads) lines.push(`${label}: thread ${t.thread} LWP ${t.lwp ?? "?"} goid ${t.goid ?? "?"} rsp ${t.rsp} on ${t.on}`);
  for (const p of reading.problems) lines.push(`${label}: ${p}`);
  return lines;
}
