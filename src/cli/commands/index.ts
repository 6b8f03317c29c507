import type { Command } from "commander";

// Each command module exports register(program); this file only lists them.
export function registerCommands(program: Command): void {
  void program;
}
