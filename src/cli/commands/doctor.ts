import type { Command } from "commander";
import { runDoctorChecks } from "../../doctor/checks.js";
import { DEFAULT_RUNTIME, formatDoctorReport } from "../../doctor/report.js";

// sysexits' EX_UNAVAILABLE, the status a MISSING_TOOL fault exits with: what `run` would
// fail with on this host. A failure outside the default runtime (Docker down) exits 0.
const NOT_READY_EXIT = 69;

export function register(program: Command): void {
  program
    .command("doctor")
    .description("check this host for what scenarios need: Go, static and cross builds, strace, gdb, ptrace, PID namespaces, Docker, tini, dumb-init, tracefs and uprobes")
    .option("--json", "print one JSON object {ok, defaultRuntimeReady, checks: [{id, title, ok, detail, fix?, blocks}]}")
    .addHelpText(
      "after",
      `
Every check runs the real thing: it builds a static Go program and one for linux/arm64 and
reads their ELF headers, attaches strace to a process, and starts a PID namespace.

For each failed check the report gives the exact fix and what it blocks (runtime:docker,
init:tini, claim:S4, …).

Exit status: 0 when the default runtime (${DEFAULT_RUNTIME}) can run scenarios here, even if
Docker or an init is missing; ${NOT_READY_EXIT} when it cannot.

Examples:
  forensics doctor
  forensics doctor --json | jq '.checks[] | select(.ok | not) | {id, fix}'`,
    )
    .action(async (flags: { json?: boolean }) => {
      const report = await runDoctorChecks();
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report));
      if (!report.defaultRuntimeReady) process.exitCode = NOT_READY_EXIT;
    });
}
