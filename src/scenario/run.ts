import { basename } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { buildProbe } from "../probe/build.js";
import { collectHostFacts } from "../capture/host-facts.js";
import { observerFor } from "../capture/observers.js";
import { removeDebris } from "../debris.js";
import { observerSetKey } from "../capture/observer.js";
import { BundleWriter } from "../bundle/write.js";
import { HarnessError, toOutputFault } from "../errors.js";
import { sameVariant, type Finding, type TrialEvidence, type TrialRequest, type Variant } from "../evidence/schemas.js";
import { isShuttingDown, onCleanup, SHUTDOWN_SETTLE_MS } from "../cleanup.js";
import { launchers } from "../probe/launchers.js";
import { createRuntime } from "../runtime/index.js";
import { sharedLibraries } from "../runtime/image.js";
import type { InitKind, RuntimeKind } from "../runtime/runtime.js";
import { axisFlag, type Scenario, type SweepOptions } from "./define.js";
import { ContainerPipeline } from "./container-pipeline.js";
import { binaryTarget, imageTarget, probeTarget, targetInfo, type ResolvedTarget, type TargetChoice } from "./target.js";
import { runTrial, startTrialContainer, type TrialContext } from "./trial.js";

export interface RunOptions {
  scenario: Scenario;
  runtime: RuntimeKind;
  inits: InitKind[];
  /** Go toolchains for the probe (GOTOOLCHAIN), one variant each; undefined stands for the host's. */
  go: (string | undefined)[];
  /** What runs in the container: our probe (default), or the user's binary or image. */
  target?: TargetChoice;
  /** Chosen values of the scenario's own axes; an axis not named here runs its defaults. */
  axes?: Record<string, string[]>;
  sweep: SweepOptions;
  outDir: string;
  onProgress?: (event: ProgressEvent) => void;
}

export type ProgressEvent =
  | { kind: "step"; message: string }
  | { kind: "trial-start"; n: number; variant: Variant; request: TrialRequest }
  | { kind: "trial-done"; n: number; variant: Variant; trial: TrialEvidence };

export interface RunResult {
  bundle: string;
  variants: Variant[];
  trials: TrialEvidence[];
  findings: Finding[];
}

/** Plans variants, runs every trial, writes the bundle; a harness fault leaves it partial. */
export async function runScenario(options: RunOptions): Promise<RunResult> {
  const { scenario } = options;
  const choice = options.target ?? { kind: "probe" };
  const progress = options.onProgress ?? (() => {});
  if (choice.kind !== "probe") {
    if (!scenario.targets.includes(choice.kind)) throw new HarnessError("USAGE", `${scenario.name} runs only its own probe (no --${choice.kind})`);
    if (options.go.some((g) => g !== undefined)) throw new HarnessError("USAGE", `--go builds our probe; a --${choice.kind} target is already built`);
    if (choice.kind === "image" && options.inits.some((i) => i === "tini" || i === "dumb-init")) {
      throw new HarnessError("USAGE", "--image runs the image unchanged: use --init none or docker-init (the engine's own)");
    }
  }
  for (const init of options.inits) {
    if (!scenario.inits.includes(init)) throw new HarnessError("USAGE", `${scenario.name} does not support --init ${init} (supported: ${scenario.inits.join(", ")})`);
    if (init === "docker-init" && options.runtime !== "docker") throw new HarnessError("USAGE", "--init docker-init needs --runtime docker (it is the engine's own --init)");
  }

  const runtime = createRuntime(options.runtime, launchers);
  progress({ kind: "step", message: `checking the ${runtime.kind} runtime` });
  await runtime.preflight();
  // Whatever runtime and observers a dead harness used, its debris goes before this run starts.
  const removed = await removeDebris();
  if (removed.length > 0) progress({ kind: "step", message: `removed ${removed.length} leftover(s) of an earlier run that died` });
  for (const name of new Set(options.sweep.observerSets.flat())) await observerFor(name).needs();

  const goNames = choice.kind === "probe" ? options.go.map((g) => g ?? "the host's Go") : [];
  progress({ kind: "step", message: `building probes${goNames.length ? ` (probe with ${goNames.join(", ")})` : ""}` });
  const onBuild = (message: string) => progress({ kind: "step", message });
  const [gate, driver, ...probes] = await Promise.all([
    buildProbe("gate", { onProgress: onBuild }),
    buildProbe("driver", { onProgress: onBuild }),
    ...(choice.kind === "probe" ? options.go.map((go) => buildProbe(scenario.probe, { go, onProgress: onBuild })) : []),
  ]);
  const targets: { target: ResolvedTarget; go: string }[] =
    choice.kind === "probe"
      ? probes.map((p) => ({ target: probeTarget(p!.path), go: p!.goVersion }))
      : [await (choice.kind === "binary" ? binaryTarget(choice.path, choice.args) : imageTarget(runtime, choice.image, choice.args)).then((target) => ({ target, go: target.go ?? "unknown" }))];

  const axes = crossAxes(scenario, options.axes ?? {}, choice.kind);
  const planned = targets.flatMap(({ target, go }, i) =>
    options.inits.flatMap((init) => axes.map((values) => ({ variant: { runtime: options.runtime, init, go, ...values } as Variant, target, toolchain: options.go[i], probePath: probes[i]?.path ?? "" }))),
  );
  const variants: { variant: Variant; target: ResolvedTarget }[] =
    choice.kind === "probe" ? await Promise.all(planned.map((p) => ownProbe(scenario, p, onBuild))) : planned;
  const goVersions = targets.map((t) => t.go);
  const params = {
    runtime: options.runtime,
    inits: options.inits,
    go: goVersions,
    target: { kind: choice.kind, label: targets[0]!.target.label, shellForm: targets[0]!.target.shellForm, args: choice.kind === "probe" ? undefined : choice.args },
    axes: Object.fromEntries(
      Object.entries(scenario.axes)
        .filter(([, axis]) => choice.kind === "probe" || axis.targets?.includes(choice.kind))
        .map(([name, axis]) => [name, options.axes?.[name] ?? axis.defaults]),
    ),
    trials: options.sweep.trials,
    observe: options.sweep.observerSets.map(observerSetKey),
    options: options.sweep.options,
  };
  const bundle = await BundleWriter.create(options.outDir, scenario.name, params, variants.map((v) => v.variant));
  const trials: TrialEvidence[] = [];
  const host = () => collectHostFacts({ "go (probe)": goVersions.join(", ") });
  let flowSettled = () => {};
  const flowDone = new Promise<void>((resolve) => (flowSettled = resolve));
  const forgetBundle = onCleanup(async () => {
    // The running trial still writes into the bundle until it notices the shutdown; hashing
    // before that would list files that then change. Its error path finishes the bundle.
    await Promise.race([flowDone, sleep(SHUTDOWN_SETTLE_MS)]);
    await bundle.finish({ trials, findings: [], host: await host(), reason: INTERRUPTED });
  });

  const pipelines = new Set<ContainerPipeline>();
  let previous: Promise<void> = Promise.resolve();
  // What the observers keep between trials (kernel-instances.ts, kernel-uprobe-sets.ts) goes once the run's trials are done:
  // beside finishing the bundle on success, in `finally` otherwise; once either way.
  let released: Promise<void> | undefined;
  const releaseObservers = (): Promise<void> =>
    (released ??= (async () => {
      for (const name of new Set(options.sweep.observerSets.flat())) await observerFor(name).release?.();
    })());
  try {
    let n = 0;
    for (const { variant, target } of variants) {
      // A variant's trials start once nothing of the one before is starting or going.
      await previous;
      const binaries = { gate: gate!.path, driver: driver!.path };
      const containers = new ContainerPipeline((id) => startTrialContainer(runtime, bundle.runId, binaries.gate, target, scenario, variant, id));
      pipelines.add(containers);
      const ctx: TrialContext = {
        runId: bundle.runId,
        bundle,
        binaries,
        scenario,
        target,
        containers,
        programShared: runtime.sharesImageFiles,
        afterSends: () => containers.prepare(trialId(n + 1)),
      };
      await scenario.sweep({
        variant,
        target: targetInfo(target),
        sweep: options.sweep,
        runTrial: async (request: TrialRequest) => {
          if (isShuttingDown()) throw new HarnessError("INTERRUPTED", INTERRUPTED);
          n += 1;
          progress({ kind: "trial-start", n, variant, request });
          const trial = await runTrial(ctx, variant, trialId(n), request);
          // A trial whose container the shutdown killed recorded the harness, not the program.
          if (isShuttingDown()) throw new HarnessError("INTERRUPTED", INTERRUPTED);
          trials.push(trial);
          progress({ kind: "trial-done", n, variant, trial });
          return trial;
        },
      });
      // Closing the last variant's pipeline overlaps finishing the bundle.
      previous = containers.close().then(() => void pipelines.delete(containers));
    }
    const findings = variants.flatMap(({ variant }) => scenario.analyse(variant, trials.filter((t) => sameVariant(t.variant, variant))));
    await Promise.all([previous, releaseObservers(), bundle.finish({ trials, findings, host: await host() })]);
    forgetBundle();
    return { bundle: bundle.dir, variants: variants.map((v) => v.variant), trials, findings };
  } catch (err) {
    forgetBundle();
    // Once stopping, whatever failed did so because the shutdown pulled things away.
    const reason = isShuttingDown() ? INTERRUPTED : (toOutputFault(err)?.message ?? `internal error: ${String(err)}`);
    await bundle.finish({ trials, findings: [], host: await host(), reason }).catch(() => {});
    throw err;
  } finally {
    // Nothing writes into the bundle any more; a container still starting for a trial that
    // will not run can take its start-up timeout to go, and must not hold up an interrupt.
    flowSettled();
    await Promise.all([...pipelines].map((p) => p.close()));
    await releaseObservers();
  }
}

// A variant may build the probe its own way (cgo, build tags) and copy in the libraries
// that build links; each distinct build runs once per run.
const flavouredBuilds = new Map<string, Promise<string>>();

async function ownProbe(
  scenario: Scenario,
  planned: { variant: Variant; target: ResolvedTarget; toolchain: string | undefined; probePath: string },
  onBuild: (message: string) => void,
): Promise<{ variant: Variant; target: ResolvedTarget }> {
  const { variant, target, toolchain } = planned;
  const { flavour, libraries } = scenario.target(variant);
  if (flavour === undefined && libraries === undefined) return { variant, target };
  let path = planned.probePath;
  if (flavour !== undefined) {
    const key = JSON.stringify([scenario.probe, toolchain ?? null, flavour]);
    if (!flavouredBuilds.has(key)) flavouredBuilds.set(key, buildProbe(scenario.probe, { go: toolchain, flavour, onProgress: onBuild }).then((b) => b.path));
    path = await flavouredBuilds.get(key)!;
  }
  const libs = libraries ? (await sharedLibraries(path)).filter((f) => !libraries.omit.includes(basename(f.path))) : [];
  return { variant, target: probeTarget(path, libs) };
}

/**
 * Every combination of the scenario's axes that apply to the target, in declaration order;
 * one empty combination when none does.
 */
function crossAxes(scenario: Scenario, chosen: Record<string, string[]>, target: TargetChoice["kind"]): Record<string, string>[] {
  let combos: Record<string, string>[] = [{}];
  for (const [name, axis] of Object.entries(scenario.axes)) {
    if (target !== "probe" && !axis.targets?.includes(target)) {
      if (chosen[name] !== undefined) throw new HarnessError("USAGE", `--${axisFlag(name)} configures ${scenario.name}'s own probe; a --${target} target brings its own`);
      continue;
    }
    const values = chosen[name] ?? axis.defaults;
    const bad = values.filter((v) => !axis.values.includes(v));
    if (bad.length) throw new HarnessError("USAGE", `--${axisFlag(name)} takes ${axis.values.join(", ")}; got ${bad.join(", ")}`);
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [name]: v })));
  }
  return combos;
}

const trialId = (n: number): string => `t${String(n).padStart(3, "0")}`;

const INTERRUPTED = "interrupted (SIGINT/SIGTERM)";
