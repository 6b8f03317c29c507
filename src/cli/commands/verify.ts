import type { Command } from "commander";
import { verifyBundle } from "../../bundle/archive.js";
import { formatProblem } from "../../bundle/verify.js";
import { formatRedaction } from "./export.js";

// The status a bundle that fails verification exits with: BAD_BUNDLE's (src/errors.ts).
const BAD_BUNDLE_EXIT = 67;

export function register(program: Command): void {
  program
    .command("verify")
    .argument("<bundle>", "a bundle directory or an exported .tar.gz")
    .description("check a bundle or an exported archive: schema version, every sha256, nothing missing, nothing extra")
    .option("--json", "print one JSON object {ok, target, kind, schemaVersion, status, files, redaction, problems: [{path?, problem}]}")
    .option("--allow-partial", "accept a bundle whose run was cut short (its files must still match)")
    .addHelpText(
      "after",
      `
Reports every problem, not only the first: files that are missing, changed (size or
sha256), unlisted, links or devices; a manifest of another schema version or malformed;
evidence or findings that do not parse (from schema 3: a trial's timeline file that does
not decode, a record that fails its schema, by file and line); a partial run.

An archive is read entry by entry into a private temporary directory that is removed
afterwards; links, devices, FIFOs, absolute or '..' paths, duplicate or control-character
names, oversized members, too many entries and decompression bombs are refused before
anything reads the bundle.

Exit status: 0 OK, 67 problems found, 66 no such file or directory, 64 usage.

Examples:
  forensics verify traces/sigterm-race-20261125T230456Z-bd2749
  forensics verify bug-1234.tar.gz
  forensics verify --json bug-1234.tar.gz | jq -r '.problems[] | "\\(.path): \\(.problem)"'`,
    )
    .action(async (target: string, flags: { json?: boolean; allowPartial?: boolean }) => {
      const v = await verifyBundle(target, { allowPartial: flags.allowPartial });
      const m = v.manifest;
      if (flags.json) {
        const doc = {
          ok: v.problems.length === 0,
          target,
          kind: v.kind,
          schemaVersion: m?.schemaVersion ?? null,
          status: m?.status ?? null,
          files: m?.files.length ?? null,
          redaction: m?.redaction ?? null,
          problems: v.problems,
        };
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      } else if (v.problems.length === 0 && m !== null) {
        const redaction = m.redaction ? `; ${formatRedaction(m.redaction)}` : "";
        process.stdout.write(`OK ${target}: schema ${m.schemaVersion}, ${m.status}, ${m.files.length} files match their sha256, nothing unlisted${redaction}\n`);
      } else {
        const n = v.problems.length;
        process.stdout.write(`BAD ${target}: ${n} problem${n === 1 ? "" : "s"}\n${v.problems.map((p) => `  ${formatProblem(p)}\n`).join("")}`);
      }
      if (v.problems.length > 0) process.exitCode = BAD_BUNDLE_EXIT;
    });
}
