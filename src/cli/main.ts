import { setTimeout as sleep } from "node:timers/promises";
import { Command, CommanderError } from "commander";
import { toOutputFault } from "../errors.js";
import { registerCommands } from "./commands/index.js";
import { beginShutdown, isShuttingDown, runCleanups, SHUTDOWN_SETTLE_MS } from "../cleanup.js";
import { TOOL_VERSION } from "../version.js";

// One top-level catch: known harness faults print one line and their exit code; only an
// unknown error (a bug in forensics) shows a stack. Usage errors are one line too.
const program = new Command("forensics")
  .description("Put container signal, time-zone and locale folklore about Go programs to the test.")
  .version(TOOL_VERSION)
  .configureOutput({
    outputError: (message, write) => write(`forensics: ${message.trim().replace(/^error: /, "")} (run with --help for usage)\n`),
  })
  .exitOverride();



const main = (async () => {
  try {
    await registerCommands(program, process.argv);
    await program.parseAsync(process.argv);
  } catch (err) {
    // Interrupted: the signal handler reports, cleans up and exits; this error is a consequence.
    if (isShuttingDown()) return;
    await runCleanups();
    // Known faults: the closed set, and a write that failed deep inside (a raw capture on a full disk).
    const fault = toOutputFault(err);
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 64;
    } else if (fault !== null) {
      process.stderr.write(`forensics: ${fault.message}\n`);
      process.exitCode = fault.exitCode;
    } else {
      process.stderr.write(`forensics: internal error (a bug; please report it with this trace):\n`);
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    }
  }
})();

// `on`, not `once`: while a listener stays, execa's signal-exit (loaded whenever a child
// runs) does not re-raise the signal and kill us before the cleanups have run. A second
// signal while stopping changes nothing.
const interrupt = (signal: NodeJS.Signals) => {
  if (isShuttingDown()) return;
  beginShutdown();
  process.stderr.write(`\nforensics: ${signal}: stopping trials and removing what they started…\n`);
  void (async () => {
    // First remove what runs (the running step then fails fast), let that step give up,
    // then remove what it started in the meantime.
    await runCleanups();
    await Promise.race([main, sleep(SHUTDOWN_SETTLE_MS)]);
    await runCleanups();
    // 128 + the signal's number, what a shell reports for a tool the signal killed.
    process.exit(signal === "SIGINT" ? 130 : 143);
  })();
};
process.on("SIGINT", interrupt);
process.on("SIGTERM", interrupt);

/** What a shell reports for a writer killed by SIGPIPE (128 + 13), as for `ls | head`. */
const EXIT_STDOUT_CLOSED = 141;

// Node ignores SIGPIPE, so a reader that goes away (`forensics list | head -1`) surfaces as
// an EPIPE 'error' on stdout, unhandled unless caught here, once for every command. It ends
// the command quietly, as SIGPIPE ends ls: nobody reads what it would print. What the
// command started is removed first; a run whose stdout closes has written its bundle.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") throw err;
  if (isShuttingDown()) return;
  beginShutdown();
  void runCleanups().finally(() => process.exit(EXIT_STDOUT_CLOSED));
});
// Progress and errors go to stderr; with no one left to read them there is nothing to say.
process.stderr.on("error", () => {});

await main;
