// `npm run bench`: every bench in its own process, in order, each printing its figures
// beside what a user would otherwise run; exits 1 when any of them missed its target.
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const BENCHES = ["strace-parse.js", "docker-sweep.js", "replay.js"];

let missed = 0;
for (const bench of BENCHES) {
  console.log(`\n== ${bench.replace(/\.js$/, "")}`);
  const r = spawnSync(process.execPath, [join(import.meta.dirname, bench)], { stdio: "inherit" });
  if (r.status !== 0) missed++;
}
process.exitCode = missed === 0 ? 0 : 1;
