import type { Command } from "commander";
import { SCENARIOS } from "../../../scenarios/index.js";

export function register(program: Command): void {
  program
    .command("list")
    .description("list the scenarios, one line each")
    .option("--json", "print the scenarios as JSON")
    .action((opts: { json?: boolean }) => {
      if (opts.json) {
        const rows = SCENARIOS.map((s) => ({ name: s.name, summary: s.summary, claims: s.claims.map((c) => c.id), inits: s.inits }));
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const width = Math.max(...SCENARIOS.map((s) => s.name.length));
      for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(width)}  ${s.summary}\n`);
    });
}
