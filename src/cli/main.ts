import { setTimeout as sleep } from "node:timers/promises";
import { Command, CommanderError } from "commander";
import { isHarnessError } from "../errors.js";
import { registerCommands } from "./commands/index.js";
import { beginShutdown, isShuttingDown, runCleanups } from "../runtime/cleanup.js";
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


/** How long an interrupted step may take to notice before what it started is removed anyway. */
const SETTLE_MS = 5_000;

const main = (async () => {
  try {
    await registerCommands(program, process.argv);
    await program.parseAsync(process.argv);
  } catch (err) {
    // Interrupted: the signal handler reports, cleans up and exits; this error is a consequence.
    if (isShuttingDown()) return;
    await runCleanups();
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 64;
    } else if (isHarnessError(err)) {
      process.stderr.write(`forensics: ${err.message}\n`);
      process.exitCode = err.exitCode;
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
    await Promise.race([main, sleep(SETTLE_MS)]);
    await runCleanups();
    process.exit(signal === "SIGINT" ? 130 : 143);
  })();
};
process.on("SIGINT", interrupt);
process.on("SIGTERM", interrupt);

await main;
