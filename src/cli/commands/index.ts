import type { Command } from "commander";
import { register as registerClean } from "./clean.js";
import { register as registerDoctor } from "./doctor.js";
import { register as registerList } from "./list.js";
import { register as registerParse } from "./parse.js";
import { register as registerReplay } from "./replay.js";
import { register as registerRun } from "./run.js";

// Each command module exports register(program); this file only lists them.
export function registerCommands(program: Command): void {
  registerClean(program);
  registerDoctor(program);
  registerList(program);
  registerParse(program);
  registerReplay(program);
  registerRun(program);
}
