import { InvalidArgumentError, Option, type Command } from "commander";
import { findScenario, SCENARIOS } from "../../../scenarios/index.js";
import { OBSERVER_NAMES, parseObserverSets, type ObserverName } from "../../capture/observer.js";
import { OBSERVERS } from "../../capture/observers.js";
import { HarnessError } from "../../errors.js";
import { parseGoVersionFlag } from "../../probe/go-toolchain.js";
import { axisFlag } from "../../scenario/define.js";
import { runScenario } from "../../scenario/run.js";
import type { TargetChoice } from "../../scenario/target.js";
import { INIT_KINDS, RUNTIME_KINDS, type InitKind, type RuntimeKind } from "../../runtime/runtime.js";
import { formatRunSummary, formatTrialLine, runJson } from "../run-report.js";

interface RunFlags {
  binary?: string;
  image?: string;
  runtime: RuntimeKind;
  init?: InitKind[];
  go?: string[];
  trials: number;
  observe?: string;
  strace?: "both" | "on" | "off";
  out: string;
  json?: boolean;
  replay?: boolean;
  [option: string]: unknown;
}

/** The old `--strace` flag, kept as an alias: both = none,strace; on = strace; off = none. */
const STRACE_ALIAS: Record<string, string> = { both: "none,strace", on: "strace", off: "none" };

export function register(program: Command): void {
  const run = program
    .command("run")
    .argument("<scenario>", "scenario name (see: forensics list)")
    .argument("[program-args...]", "after --: the arguments of your --binary, or the cmd that replaces your --image's")
    .description("run a scenario's trials, print verdicts on its claims, and write a trace bundle")
    .addOption(new Option("--runtime <kind>", "where trials run: namespace (no daemon) or docker").choices([...RUNTIME_KINDS]).default("namespace"))
    .option("--init <list>", `what is PID 1, comma-separated subset of ${INIT_KINDS.join(",")} (default: the scenario's)`, parseInits)
    .option("--binary <path>", "run your own Linux executable instead of the scenario's probe (namespace or docker runtime)")
    .option("--image <image>", "run an image of the local Docker engine, unchanged, instead of the probe (--runtime docker)")
    .option("--go <versions>", "build the probe with these Go toolchains through GOTOOLCHAIN, one variant each; `host` is the host's Go (e.g. host,1.27.3)", parseGoList)
    .option("--trials <n>", "trials per planned point and observer set", parsePositiveInt, 1)
    .option(
      "--observe <sets>",
      `observer sets, comma-separated; + joins observers of one set, none is the empty set (observers: ${OBSERVER_NAMES.join(", ")}; default: the scenario's)`,
    )
    .addOption(new Option("--strace <mode>", "alias: both = --observe none,strace; on = strace; off = none").choices(Object.keys(STRACE_ALIAS)))
    .option("--out <dir>", "where bundles are written", "traces");
  // Every scenario's own axes and options, declared as data in its folder. A name several
  // scenarios declare becomes one flag; each scenario checks the values it accepts when it runs.
  const owners = new Map<string, string[]>();
  const axisValues = new Map<string, Set<string>>();
  for (const scenario of SCENARIOS) {
    for (const [name, axis] of Object.entries(scenario.axes)) {
      for (const v of axis.values) (axisValues.get(name) ?? axisValues.set(name, new Set()).get(name)!).add(v);
      claimFlag(owners, name, scenario.name, () =>
        run.addOption(
          new Option(`--${axisFlag(name)} <values>`, `${axis.description}: comma-separated (default ${axis.defaults.join(",")}; ${scenario.name})`).argParser((value: string) =>
            parseAxisValues(name, value, [...axisValues.get(name)!]),
          ),
        ),
      );
    }
    for (const [name, option] of Object.entries(scenario.options)) {
      claimFlag(owners, name, scenario.name, () =>
        run.addOption(
          new Option(option.flag, `${option.description} (${scenario.name})`).argParser((value: string) => {
            try {
              return option.parse(value);
            } catch (err) {
              throw new InvalidArgumentError((err as Error).message);
            }
          }),
        ),
      );
    }
  }
  run
    .option("--json", "print one JSON document (bundle, findings, trials) on stdout; progress stays on stderr")
    .option("--replay", "open the bundle in `forensics replay` once the run is done")
    .addHelpText("after", () => `\n${SCENARIOS.map((s) => s.help).join("\n\n")}\n\nObservers:\n${Object.values(OBSERVERS).map((o) => `  ${o!.name.padEnd(8)} ${o!.summary}`).join("\n")}\n\n${EXAMPLES}`)
    .action(async (name: string, programArgs: string[], flags: RunFlags) => {
      const scenario = findScenario(name);
      if (flags.binary !== undefined && flags.image !== undefined) throw new HarnessError("USAGE", "--binary and --image name two targets: give one");
      if (programArgs.length > 0 && flags.binary === undefined && flags.image === undefined) {
        throw new HarnessError("USAGE", `unexpected argument ${JSON.stringify(programArgs[0])}: program arguments (after --) go with --binary or --image`);
      }
      const target: TargetChoice =
        flags.binary !== undefined
          ? { kind: "binary", path: flags.binary, args: programArgs }
          : flags.image !== undefined
            ? { kind: "image", image: flags.image, args: programArgs }
            : { kind: "probe" };
      const foreign = [...owners].filter(([option, names]) => flags[option] !== undefined && !names.includes(scenario.name)).map(([option]) => option);
      if (foreign.length) throw new HarnessError("USAGE", `${scenario.name} has no option --${foreign.join(", --")}`);
      if (flags.replay && !(process.stdout.isTTY && process.stdin.isTTY)) throw new HarnessError("USAGE", "--replay needs a terminal (stdin and stdout a TTY)");
      if (flags.observe !== undefined && flags.strace !== undefined) throw new HarnessError("USAGE", "--strace is an alias of --observe: give one of them");
      const observe = flags.observe ?? (flags.strace ? STRACE_ALIAS[flags.strace] : undefined);
      let observerSets: ObserverName[][];
      try {
        const defaults = target.kind !== "probe" ? (scenario.observers.targetSets ?? scenario.observers.defaultSets) : scenario.observers.defaultSets;
        observerSets = observe === undefined ? defaults : parseObserverSets(observe, scenario.observers.supported);
      } catch (err) {
        throw new HarnessError("USAGE", `--observe: ${(err as Error).message}`);
      }
      const options = Object.fromEntries(Object.keys(scenario.options).filter((o) => flags[o] !== undefined).map((o) => [o, flags[o]]));
      for (const name of Object.keys(options)) {
        const { appliesTo, flag } = scenario.options[name]!;
        const flagName = flag.split(" ")[0];
        if (appliesTo === "probe" && target.kind !== "probe") throw new HarnessError("USAGE", `${flagName} configures ${scenario.name}'s own probe; a --${target.kind} target brings its own`);
        if (appliesTo === "target" && target.kind === "probe") throw new HarnessError("USAGE", `${flagName} is for a user's program (--binary or --image); ${scenario.name}'s probe does not take it`);
      }
      const axes = Object.fromEntries(Object.keys(scenario.axes).filter((a) => flags[a] !== undefined).map((a) => [a, flags[a] as string[]]));

      const log = (line: string) => process.stderr.write(`${line}\n`);
      const result = await runScenario({
        scenario,
        runtime: flags.runtime,
        inits: flags.init ?? scenario.defaultInits,
        go: flags.go ?? [undefined],
        axes,
        target,
        sweep: { trials: flags.trials, observerSets, options },
        outDir: flags.out,
        onProgress: (event) => {
          if (event.kind === "step") log(`· ${event.message}`);
          else if (event.kind === "trial-done") log(formatTrialLine(scenario, event.n, event.trial));
        },
      });
      if (flags.json) process.stdout.write(`${JSON.stringify(runJson(scenario, result.bundle, result.trials, result.findings), null, 2)}\n`);
      else process.stdout.write(`${formatRunSummary(scenario, result.bundle, result.variants, result.trials, result.findings)}\n`);
      // Loaded only here: the TUI (blessed) is ~30 ms of start-up a run without --replay need not pay.
      if (flags.replay) await (await import("./replay.js")).replayBundle(result.bundle, { mouse: true });
    });
}

const EXAMPLES = `Examples:
  forensics run sigterm-race                       # namespace runtime, inits none,tini,dumb-init
  forensics run sigterm-race --runtime docker --init none,docker-init
  forensics run sigterm-race --offsets 0,50,100,150 --trials 3 --observe none --out /tmp/traces
  forensics run sigterm-race --strace on            # the older spelling of --observe strace
  forensics run sigterm-race --init tini --replay   # then open the bundle in the replay TUI
  forensics run sigterm-race --binary ./server --observe kernel -- --listen :8080
  forensics run sigterm-race --runtime docker --image myapp:latest --init none,docker-init
  forensics run sigterm-race --go host,1.27.3 --json | jq '.findings[] | [.claim, .variant.init, .variant.go, .verdict]'
  forensics run signal-backlog --cap 0,1,64 --reader fast,slow,none --loads SIGTERM:1000,SIGTERM:10000 --count 500
  forensics run signal-backlog --cap 1 --reader fast --window natural,held --loads SIGTERM:1000
  forensics run init-stack --runtime docker --init tini,docker-init --breakpoint runtime.sighandler
  forensics run docker-stop-timeout --runtime docker --stop-timeouts 1,10 --handler-ms 5000 --json | jq '.trials[].measured'
  forensics run docker-stop-timeout --runtime docker --init none --image myapp:latest --port 8080 --path /slow --stop-timeouts 1,10
  forensics run tz-matrix --probe go,cgo-glibc,cgo-musl --tz unset,Asia/Shanghai,CST-8 --localtime absent,file,symlink --zoneinfo some
  forensics run tz-matrix --probe cgo-glibc --libs without-libc --json | jq '.matrix[].observed'
  forensics run tz-matrix --runtime docker --image myapp:latest --tz unset,Asia/Shanghai,UTC
  forensics run tz-cgo-cache --tz-at image,early --go host,1.27.3
  forensics run locale-missing --lang C.UTF-8,zh_CN.UTF-8 --lc-all unset --locales none,C.utf8`;

function parseInits(value: string): InitKind[] {
  const inits = value.split(",").map((s) => s.trim()).filter(Boolean);
  const bad = inits.filter((i) => !(INIT_KINDS as readonly string[]).includes(i));
  if (bad.length || inits.length === 0) throw new InvalidArgumentError(`expected a comma-separated subset of ${INIT_KINDS.join(",")}, got "${value}"`);
  return [...new Set(inits)] as InitKind[];
}

/** Adds a scenario's flag once, however many scenarios declare the name; remembers who declares it. */
function claimFlag(owners: Map<string, string[]>, name: string, scenario: string, add: () => void): void {
  const known = owners.get(name);
  if (known) known.push(scenario);
  else {
    owners.set(name, [scenario]);
    add();
  }
}

function parseAxisValues(name: string, value: string, known: readonly string[]): string[] {
  const values = value.split(",").map((s) => s.trim());
  const bad = values.filter((v) => !known.includes(v));
  if (values.length === 0 || bad.length) throw new InvalidArgumentError(`--${axisFlag(name)} takes a comma-separated subset of ${known.join(", ")}; got "${value}"`);
  return [...new Set(values)];
}

/** `host` stands for the host's Go (undefined: no GOTOOLCHAIN); every other entry must name a Go release forensics can build with. */
function parseGoList(value: string): (string | undefined)[] {
  const versions = value.split(",").map((s) => s.trim());
  if (versions.some((v) => v === "")) throw new InvalidArgumentError(`expected comma-separated Go releases or host, got "${value}"`);
  return [...new Set(versions.map((v) => (v === "host" ? undefined : parseGoVersionFlag(v))))];
}

// Digits only: Number() would take "", "0x10" and "1e3" as numbers.
const WHOLE = /^\d+$/;

function parsePositiveInt(value: string): number {
  const n = WHOLE.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError(`expected a whole number from 1 to 1000, got "${value}"`);
  return n;
}
