import { writeFileSync } from "node:fs";

// Preloaded (node --import) into the CLI runs the bench times: the process reports its own
// peak RSS and CPU time when it exits, which spawnSync cannot tell about a child.
const target = process.env.FORENSICS_BENCH_USAGE;
if (target !== undefined) {
  process.on("exit", () => {
    const usage = process.resourceUsage();
    writeFileSync(target, JSON.stringify({ maxRssKb: usage.maxRSS, cpuUs: usage.userCPUTime + usage.systemCPUTime }));
  });
}
