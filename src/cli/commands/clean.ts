import type { Command } from "commander";
import { removeCaches, removeDebris } from "../../debris.js";

export function register(program: Command): void {
  program
    .command("clean")
    .description("remove what killed forensics runs left behind (containers, processes, run dirs, tracefs instances and uprobes)")
    .option("--caches", "also remove the probe build cache and the forensics/* Docker images (rebuilt on the next run)")
    .option("--json", 'print one JSON object {"removed": ["…", …]}')
    .addHelpText(
      "after",
      `
Only debris of dead forensics processes is removed: a run in progress keeps everything.
Containers are looked for when the Docker engine answers. Every run does the same on start.

Examples:
  forensics clean
  forensics clean --caches --json | jq -r '.removed[]'`,
    )
    .action(async (flags: { caches?: boolean; json?: boolean }) => {
      const removed = [...(await removeDebris()), ...(flags.caches ? await removeCaches() : [])];
      if (flags.json) process.stdout.write(`${JSON.stringify({ removed }, null, 2)}\n`);
      else process.stdout.write(removed.length === 0 ? "nothing to remove\n" : removed.map((r) => `removed ${r}\n`).join(""));
    });
}
