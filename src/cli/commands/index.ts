import type { Command } from "commander";

// Each command module exports register(program); this file only lists them. They are
// imported on demand: doctor and run pull in Docker, pty and scenario code that takes
// ~0.6 s to load, which `forensics parse strace` on a log must not pay.
const COMMANDS: Readonly<
  Record<string, () => Promise<{ register(program: Command, argv: readonly string[]): void | Promise<void> }>>
> = {
  audit: () => import("./audit.js"),
  clean: () => import("./clean.js"),
  doctor: () => import("./doctor.js"),
  export: () => import("./export.js"),
  list: () => import("./list.js"),
  parse: () => import("./parse.js"),
  replay: () => import("./replay.js"),
  report: () => import("./report.js"),
  run: () => import("./run.js"),
  verify: () => import("./verify.js"),
};

/** The program's own options that need no command: loading every command for them took ~0.5 s. */
const NO_COMMAND = new Set(["--version", "-V"]);

/**
 * Registers the command `argv` names (its first argument), none for `--version`, or every
 * command when it names none of them (`--help`, a typo: help and "did you mean" need them all).
 */
export async function registerCommands(program: Command, argv: readonly string[]): Promise<void> {
  const name = argv[2];
  const names =
    name !== undefined && Object.hasOwn(COMMANDS, name) ? [name] : name !== undefined && NO_COMMAND.has(name) ? [] : Object.keys(COMMANDS);
  for (const module of await Promise.all(names.map((n) => COMMANDS[n]!()))) await module.register(program, argv);
}
