import { once } from "node:events";
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { HarnessError } from "../../errors.js";
import { createKernelSummary, type KernelSummary } from "../../parse/kernel-describe.js";
import { parseKernelText } from "../../parse/kernel.js";
import { rootPidsOf, selectTrialRecords } from "../../parse/kernel-tree.js";

const EXAMPLES = `
Examples:
  $ forensics parse kernel traces/<run>/raw/<variant>/<trial>/kernel.trace
      signals generated (by result), deliveries, exits, handler installs (Go's setsig,
      rt_sigaction with a new action), uprobe hits

  $ forensics parse kernel --json kernel.trace kernel-signals.trace | jq 'select(.kind == "signal-generate")'
      one JSON record per line: header, exec, fork, exit, signal-generate, signal-deliver,
      syscall-enter, syscall-exit, uprobe, marker, lost or unparsed

A capture written by the kernel observer carries its own clock marker, so tsUs is
CLOCK_REALTIME µs; a plain tracefs \`trace\` file parses too, with tsUs null.`;

/** `forensics parse kernel`: registered on the `parse` command next to `strace`. */
export function registerParseKernel(parse: Command): void {
  parse
    .command("kernel")
    .description("Parse tracefs text (the kernel observer's kernel.trace, or any trace/trace_pipe output) and summarise it, or print every record as JSON.")
    .argument("<file...>", "tracefs captures, e.g. kernel.trace and kernel-signals.trace of one trial")
    .option("--json", "print every record as one JSON object per line instead of the summary")
    .addHelpText("after", EXAMPLES)
    .action(async (files: string[], options: { json?: boolean }) => {
      const summary = createKernelSummary();
      let foreign = 0;
      if (options.json === true) ignoreClosedStdout();
      for (const file of files) {
        const records = parseKernelText(await readCapture(file));
        if (options.json === true) {
          let text = "";
          for (const r of records) text += `${JSON.stringify(r)}\n`;
          if (!(await write(text))) return;
          continue;
        }
        // A capture of ours names its trial's root PIDs: signals the generation instance
        // caught for other processes of the host are not the trial's.
        const roots = rootPidsOf(records);
        const mine = roots.length === 0 ? records : selectTrialRecords(records, roots);
        foreign += records.length - mine.length;
        for (const r of mine) summary.add(r);
      }
      if (options.json !== true) process.stdout.write(formatKernelSummary(summary.result(), files.length, foreign));
    });
}

async function readCapture(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason = /^[A-Z]+: (.+?)(?:, \w+(?: '.*')?)?$/.exec(e.message ?? "")?.[1] ?? String(err);
    throw new HarnessError("BAD_INPUT", `cannot read ${file}: ${reason}${e.code ? ` (${e.code})` : ""}`, { cause: err });
  }
}

let broken = false;

// A reader that stops early (`| head`) closes the pipe; the EPIPE comes back
// asynchronously, possibly after the last write: stop quietly, as other tools do.
function ignoreClosedStdout(): void {
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
    broken = true;
  });
}

/** Writes to stdout; false once the reader has gone. */
async function write(text: string): Promise<boolean> {
  const out = process.stdout;
  // once() rejects when the stream emits "error": the EPIPE handled above.
  if (!broken && !out.write(text)) await Promise.race([once(out, "drain"), once(out, "close")]).catch(() => undefined);
  return !broken;
}

/** Most entries a summary row lists before it says how many more there are. */
const MAX_ENTRIES = 6;

export function formatKernelSummary(s: KernelSummary, files: number, foreign = 0): string {
  // Go installs a handler for nearly every signal: the ones the capture saw sent come first.
  const sent = new Set([...s.generated.keys()].map((k) => k.split(" ")[0]!));
  const list = (m: Map<string, number>) => {
    if (m.size === 0) return "none";
    const rank = ([k, n]: [string, number]) => (sent.has(k) ? 1e9 : 0) + n;
    const sorted = [...m.entries()].sort((a, b) => rank(b) - rank(a) || a[0].localeCompare(b[0]));
    const shown = sorted.slice(0, MAX_ENTRIES).map(([k, n]) => `${k} ×${n}`).join(", ");
    return sorted.length > MAX_ENTRIES ? `${shown}, … (+${sorted.length - MAX_ENTRIES} more)` : shown;
  };
  const rows: [string, string][] = [
    ["signals generated", list(s.generated)],
    ["signals delivered", list(s.delivered)],
    ["task exits", String(s.exits)],
    ["Go handler installs", list(s.goHandlerInstalls)],
    ["rt_sigaction sets", list(s.sigactionSets)],
    ["uprobe hits", list(s.uprobeHits)],
  ];
  if (s.lostEvents > 0) rows.push(["LOST events", String(s.lostEvents)]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const body = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
  const outside = foreign > 0 ? ` (${foreign} signals aimed outside the trial's processes not counted)` : "";
  return `${body}\n\n${s.records} records from ${files} ${files === 1 ? "file" : "files"}, ${s.unparsed} unparsed${outside}\n`;
}
