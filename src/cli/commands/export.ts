import { hostname, homedir } from "node:os";
import type { Command } from "commander";
import { openBundle } from "../../bundle/archive.js";
import { exportBundle } from "../../bundle/export.js";
import { bundleToPerfetto } from "../../bundle/perfetto.js";
import { writeOutput } from "../../bundle/report.js";
import { loadBundle } from "../../bundle/read.js";
import type { RedactionSummary } from "../../bundle/export-manifest.js";
import { HarnessError } from "../../errors.js";

interface ExportFlags {
  output?: string;
  redact: boolean;
  stripHost?: boolean;
  allowPartial?: boolean;
  perfetto?: boolean;
}

export function register(program: Command): void {
  program
    .command("export")
    .argument("<bundle>", "a bundle directory, e.g. traces/sigterm-race-20261125T230456Z-bd2749")
    .description("write a bundle as a reproducible, redacted .tar.gz to attach to a bug report")
    .option("-o, --output <file>", "the archive to write (default: ./<run-id>.tar.gz)")
    .option("--strip-host", "also replace this machine's host name and your home directory by [host-N] and [home-N]")
    .option("--no-redact", "export the captures exactly as recorded, secrets included")
    .option("--allow-partial", "export a bundle whose run was cut short (manifest status \"partial\")")
    .option("--perfetto", "instead of an archive, write the bundle (a directory or an exported .tar.gz) as Trace Event JSON for ui.perfetto.dev or chrome://tracing (-o default: ./<run-id>.perfetto.json)")
    .addHelpText(
      "after",
      `
Before anything is written the bundle is verified (as forensics verify does): a partial
bundle, a file that no longer matches its sha256, or a file the manifest does not list is
refused.

Redaction (on unless --no-redact) replaces, in every captured file, in the evidence
(evidence.json, each trial's record files and timeline texts) and in findings.json, values of environment variables and JSON keys named like *TOKEN*, *SECRET*,
*PASSWORD*/*PASSWD*, *KEY*, *CREDENTIAL* (any case) and the argument after such a flag
(--password x), passwords in URLs (scheme://user:pw@), Authorization and Cookie headers,
PEM private keys, AWS access key ids (AKIA…/ASIA…), GitHub tokens (ghp_…, github_pat_…)
and JWTs, by [redacted:<rule>]. It knows strace's quoting and JSON's, so quotes and escapes
stay balanced. The archive's manifest re-hashes every file and records which rules fired
how often, never a value.

The archive is reproducible: <run-id>/manifest.json first, then the files in path order,
all mode 0644, owner 0:0, one mtime (the run's start), no links. The same bundle gives the
same tar bytes anywhere, and the same .tar.gz bytes on the same Node version (the gzip
layer may differ between Node/zlib versions).

--perfetto converts what the bundle holds, unredacted: convert an exported (redacted)
archive to share one. Each trial is its own group of processes (host pids in the names),
all aligned at their exec; syscalls are slices with their strace -T duration (unfinished
ones included, marked), signals, exits and probe events are instants, each sent signal is
a flow from the driver's kill(2) through signal_generate and signal_deliver to the handler,
and the findings are global instants.

Exit status: 0 written, 67 bundle refused (partial, tampered, unlisted files), 66 no such
bundle directory, 75 archive not writable, 64 usage.

Examples:
  forensics export traces/sigterm-race-20261125T230456Z-bd2749
  forensics export traces/sigterm-race-20261125T230456Z-bd2749 -o /tmp/bug-1234.tar.gz --strip-host
  forensics verify /tmp/bug-1234.tar.gz          # what the receiver runs
  forensics export --perfetto /tmp/bug-1234.tar.gz -o trace.json`,
    )
    .action(async (dir: string, flags: ExportFlags) => {
      if (flags.perfetto) {
        if (!flags.redact || flags.stripHost) throw new HarnessError("USAGE", "--perfetto converts the bundle as it is: to share a redacted trace, export the archive first and convert that");
        const bundle = await openBundle(dir, { allowPartial: flags.allowPartial });
        try {
          const out = flags.output ?? `${bundle.manifest.runId}.perfetto.json`;
          const json = JSON.stringify(bundleToPerfetto(loadBundle(bundle)));
          await writeOutput(out, json, dir);
          process.stdout.write(`wrote ${out}: ${Buffer.byteLength(json)} bytes (Trace Event JSON; open it in ui.perfetto.dev)\n`);
        } finally {
          await bundle.close();
        }
        return;
      }
      if (!flags.redact && flags.stripHost) throw new HarnessError("USAGE", "--strip-host is part of redaction; drop --no-redact to use it");
      const host = hostname();
      const result = await exportBundle(dir, {
        out: flags.output,
        redact: flags.redact,
        stripHost: flags.stripHost ? { hosts: [...new Set([host, host.split(".")[0]!])], homes: [homedir()] } : undefined,
        allowPartial: flags.allowPartial,
      });
      if (!flags.redact) process.stderr.write("forensics: --no-redact: the archive holds the captures as recorded, secrets included\n");
      process.stdout.write(`wrote ${result.out}: ${result.bytes} bytes (tar ${result.tarBytes}), ${result.members} members, sha256 ${result.sha256}\n`);
      process.stdout.write(`${formatRedaction(result.redaction)}\n`);
    });
}

/** "redacted: secret-env 3, jwt 1" — rule names and counts, never a value. */
export function formatRedaction(r: RedactionSummary): string {
  if (!r.applied) return "not redacted (--no-redact)";
  const counts = Object.entries(r.counts).map(([rule, n]) => `${rule} ${n}`);
  return `redacted${r.stripHost ? " (host names and home stripped)" : ""}: ${counts.length === 0 ? "nothing found" : counts.join(", ")}`;
}
