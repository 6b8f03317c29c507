import { Command, CommanderError } from "commander";
import { isHarnessError } from "../errors.js";
import { registerCommands } from "./commands/index.js";
import { runCleanups } from "../runtime/cleanup.js";
import { TOOL_VERSION } from "../version.js";

// One top-level catch: known harness faults print one line and their exit code; only an
// unknown error (a bug in forensics) shows a stack.
const program = new Command("forensics")
  .description("Put container signal, time-zone and locale folklore about Go programs to the test.")
  .version(TOOL_VERSION)
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride();

registerCommands(program);

const interrupt = (signal: NodeJS.Signals) => {
  process.stderr.write(`\nforensics: ${signal}: stopping trials and removing what they started…\n`);
  runCleanups().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
};
process.once("SIGINT", interrupt);
process.once("SIGTERM", interrupt);

try {
  await program.parseAsync(process.argv);
} catch (err) {
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
