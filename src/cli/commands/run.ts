import { InvalidArgumentError, Option, type Command } from "commander";
import { findScenario } from "../../../scenarios/index.js";
import { runScenario } from "../../scenario/run.js";
import { INIT_KINDS, RUNTIME_KINDS, type InitKind, type RuntimeKind } from "../../runtime/runtime.js";
import { formatRunSummary, formatTrialLine, runJson } from "../run-report.js";

interface RunFlags {
  runtime: RuntimeKind;
  init?: InitKind[];
  go?: string;
  trials: number;
  offsets?: number[];
  strace: "both" | "on" | "off";
  out: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("run")
    .argument("<scenario>", "scenario name (see: forensics list)")
    .description("run a scenario's trials, print verdicts on its claims, and write a trace bundle")
    .addOption(new Option("--runtime <kind>", "where trials run: namespace (no daemon) or docker").choices([...RUNTIME_KINDS]).default("namespace"))
    .option("--init <list>", `what is PID 1, comma-separated subset of ${INIT_KINDS.join(",")} (default: the scenario's)`, parseInits)
    .option("--go <version>", "build the probe with this Go toolchain through GOTOOLCHAIN, e.g. 1.27.3")
    .option("--trials <n>", "trials per offset (and per strace on/off)", parsePositiveInt, 1)
    .option("--offsets <µs,...>", "send the signal at these µs after the exec instead of aiming at each phase", parseOffsets)
    .addOption(new Option("--strace <mode>", "run each offset with strace attached, without, or both (the observer effect is a result)").choices(["both", "on", "off"]).default("both"))
    .option("--out <dir>", "where bundles are written", "traces")
    .option("--json", "print one JSON document (bundle, findings, trials) on stdout; progress stays on stderr")
    .addHelpText(
      "after",
      `
sigterm-race reports for every trial:
  phase    where the send landed: before-handler (Go's runtime has no SIGTERM handler yet),
           before-notify (handler in, signal.Notify not called yet), after-notify
  outcome  lost (still running; the harness SIGKILLs it), runtime-default (ended without
           handling it: exit status or killed-by as observed), handled (its own Notify path ran)
  and a verdict per init on claims S1, S2, S7 (CLAIMS.md), citing the records behind it.

Examples:
  forensics run sigterm-race                       # namespace runtime, inits none,tini,dumb-init
  forensics run sigterm-race --runtime docker --init none,docker-init
  forensics run sigterm-race --offsets 0,50,100,150 --trials 3 --strace off --out /tmp/traces
  forensics run sigterm-race --go 1.27.3 --json | jq '.findings[] | [.claim, .variant.init, .verdict]'`,
    )
    .action(async (name: string, flags: RunFlags) => {
      const scenario = findScenario(name);
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const result = await runScenario({
        scenario,
        runtime: flags.runtime,
        inits: flags.init ?? scenario.defaultInits,
        go: flags.go,
        sweep: { offsetsUs: flags.offsets ?? [], trials: flags.trials, strace: flags.strace },
        outDir: flags.out,
        onProgress: (event) => {
          if (event.kind === "step") log(`· ${event.message}`);
          else if (event.kind === "trial-done") log(formatTrialLine(event.n, event.variant, event.trial, scenario.summariseTrial(event.trial)));
        },
      });
      if (flags.json) process.stdout.write(`${JSON.stringify(runJson(scenario, result.bundle, result.trials, result.findings), null, 2)}\n`);
      else process.stdout.write(`${formatRunSummary(scenario, result.bundle, result.variants, result.trials, result.findings)}\n`);
    });
}

function parseInits(value: string): InitKind[] {
  const inits = value.split(",").map((s) => s.trim()).filter(Boolean);
  const bad = inits.filter((i) => !(INIT_KINDS as readonly string[]).includes(i));
  if (bad.length || inits.length === 0) throw new InvalidArgumentError(`expected a comma-separated subset of ${INIT_KINDS.join(",")}, got "${value}"`);
  return [...new Set(inits)] as InitKind[];
}

// Digits only: Number() would take "", "0x10" and "1e3" as numbers.
const WHOLE = /^\d+$/;

function parsePositiveInt(value: string): number {
  const n = WHOLE.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError(`expected a whole number from 1 to 1000, got "${value}"`);
  return n;
}

function parseOffsets(value: string): number[] {
  const offsets = value.split(",").map((s) => (WHOLE.test(s.trim()) ? Number(s) : NaN));
  if (offsets.length === 0 || offsets.some((n) => !Number.isInteger(n) || n < 0 || n > 60_000_000)) {
    throw new InvalidArgumentError(`expected comma-separated whole µs from 0 to 60000000, got "${value}"`);
  }
  return offsets;
}
