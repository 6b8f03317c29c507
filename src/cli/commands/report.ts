import { Option, type Command } from "commander";
import { loadReportModel, writeOutput } from "../../bundle/report.js";
import { renderHtml } from "../../bundle/report-html.js";
import { renderMarkdown } from "../../bundle/report-markdown.js";

export function register(program: Command): void {
  program
    .command("report")
    .argument("<bundle>", "a bundle directory or an exported .tar.gz")
    .description("write a bug report from a bundle: environment, verdicts with the raw lines behind them, the command that reproduces the run")
    .addOption(new Option("--format <format>", "md: Markdown to paste into an issue; html: one self-contained file with a timeline per trial").choices(["md", "html"]).default("md"))
    .option("-o, --output <file>", "write the report there (default: standard output)")
    .option("--allow-partial", "report on an archive whose run was cut short (its status and reason head the report)")
    .addHelpText(
      "after",
      `
The bundle is verified first (every sha256, as forensics verify does); a tampered or
partial bundle is refused. For each claim the report gives the verdict per variant and the
records that prove it: the raw lines as the observer captured them (strace.log,
kernel.trace, probe.jsonl…), stamped in µs after the trial's exec, non-printable bytes
escaped. The reproduce line is rebuilt from the manifest's parameters.

md fits a GitHub issue (at most 60,000 characters; long evidence folds into <details>,
and what had to be cut is said). html needs no network and no script, and stays under
2 MiB (trial timelines past that are left out, and counted).

Exit status: 0 written, 66 no such bundle, 67 bundle refused (tampered, partial, malformed),
75 output not writable, 64 usage.

Examples:
  forensics report traces/sigterm-race-20261125T230456Z-bd2749 | gh issue create --body-file -
  forensics report bug-1234.tar.gz --format html -o bug-1234.html`,
    )
    .action(async (target: string, flags: { format: "md" | "html"; output?: string; allowPartial?: boolean }) => {
      const model = await loadReportModel(target, { allowPartial: flags.allowPartial });
      const text = flags.format === "html" ? renderHtml(model) : renderMarkdown(model);
      if (flags.output === undefined) process.stdout.write(text);
      else {
        await writeOutput(flags.output, text, target);
        process.stderr.write(`wrote ${flags.output}: ${Buffer.byteLength(text)} bytes\n`);
      }
    });
}
