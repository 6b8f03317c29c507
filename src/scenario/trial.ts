import { join } from "node:path";
import { execa } from "execa";
import { OBSERVER_NAMES, type Attachment, type ObserverName } from "../capture/observer.js";
import { observerFor } from "../capture/observers.js";
import { HarnessError } from "../errors.js";
import type { KernelRecord } from "../parse/kernel-records.js";
import { SI_USER } from "../evidence/kernel-signals.js";
import { loadTrialEvidence, RAW_FILES } from "../evidence/load.js";
import type { TrialEvidence, TrialRequest, Variant } from "../evidence/schemas.js";
import { isShuttingDown, onCleanup } from "../cleanup.js";
import { initCommand, initFiles } from "../runtime/image.js";
import { describeThreads } from "../runtime/procfs.js";
import { GATE_PATH, type Container, type InitKind, type Runtime } from "../runtime/runtime.js";
import type { BundleWriter } from "../bundle/write.js";
import type { ContainerPipeline } from "./container-pipeline.js";
import { locateProgram, targetInfo, type ResolvedTarget } from "./target.js";
import type { Scenario, Send } from "./define.js";

export interface TrialBinaries {
  gate: string;
  driver: string;
}

export interface TrialContext {
  runId: string;
  bundle: BundleWriter;
  binaries: TrialBinaries;
  scenario: Scenario;
  target: ResolvedTarget;
  /** Where the trial's container comes from and goes (see ContainerPipeline). */
  containers: ContainerPipeline;
  /** The runtime's sharesImageFiles: every trial of a variant runs the same program file. */
  programShared: boolean;
  /** Called once the driver has sent everything: the next trial's container may start now. */
  afterSends(): void;
}

/** Creates and starts (gate blocked) the container of one trial of a variant. */
export async function startTrialContainer(runtime: Runtime, runId: string, gate: string, target: ResolvedTarget, scenario: Scenario, variant: Variant, id: string): Promise<Container> {
  const init = variant.init as InitKind;
  const own = scenario.target(variant);
  const container = await runtime.create({
    runId,
    trialId: `${runId}-${id}`,
    image: {
      files: target.engineImage
        ? [{ hostPath: gate, path: GATE_PATH }]
        : [{ hostPath: gate, path: GATE_PATH }, ...target.files, ...(await initFiles(init)), ...(target.kind === "probe" ? own.files : [])],
    },
    command: initCommand(init, target.argv(own.args)),
    env: own.env,
    init,
    mounts: own.mounts,
    engineImage: target.engineImage,
  });
  try {
    await container.start();
  } catch (err) {
    await container.remove();
    throw err;
  }
  return container;
}

/** How much of the container's stderr runtime.jsonl keeps; stderr.txt has all of it. */
const STDERR_RECORD_CHARS = 4096;
/** The driver gives up on a gate that never opens its FIFO after this long. */
const DRIVER_OPEN_TIMEOUT_MS = 10_000;
/** Beyond the last planned send, the driver may take this long before it counts as hung. */
const DRIVER_SLACK_MS = 20_000;

/** The driver's JSON line (go-probes/driver): instants as decimal CLOCK_REALTIME ns. */
interface DriverReport {
  releaseNs?: string;
  execNs?: string;
  sendNs?: string;
  sentNs?: string;
  /** Every signal sent: when each kill(2) started and returned. */
  sends?: { sig: number; sendNs: string; sentNs: string; error?: string }[];
  killError?: string;
  error?: string;
}

/**
 * One run of one variant: container with the gate → the request's observers attached →
 * driver releases the gate and sends the planned signals → wait for the end, SIGKILL after
 * the settle time → observers detached, raw captures saved → parsed into evidence. What
 * the program did is evidence; only harness faults throw.
 */
export async function runTrial(ctx: TrialContext, variant: Variant, id: string, request: TrialRequest): Promise<TrialEvidence> {
  const dir = await ctx.bundle.trialDir(variant, id);
  const runtimeLog = join(dir, RAW_FILES.runtime);
  const note = (ev: string, fields: Record<string, unknown>, tNs = nowNs()) =>
    ctx.bundle.appendRaw(runtimeLog, `${JSON.stringify({ t: "@T@", ev, ...fields }).replace('"@T@"', tNs)}\n`);

  await note("trial", { id, variant, request });
  const init = variant.init as InitKind;
  const container = await ctx.containers.take(id);

  const attached: Attachment[] = [];
  const attachments: Partial<Record<ObserverName, Attachment>> = {};
  try {
    // What an observer keeps for its next trial (the kernel's instances, with its events
    // on, and its uprobes) would weigh on a trial it does not watch: the observer effect
    // the sweep measures needs the trials without it undisturbed.
    for (const name of OBSERVER_NAMES) if (!request.observers.includes(name)) await observerFor(name).release?.();
    const gatePid = await container.gatePid();
    const target = targetInfo(ctx.target);
    const programHostPath = await locateProgram(ctx.target, gatePid);
    // The image's environment stays out of the bundle (it may carry secrets); hooks see it.
    const { env: _env, ...described } = target;
    await note("container", { id: container.id, pid: container.pid(), gatePid, runtime: variant.runtime, init, target: described });
    for (const name of request.observers as ObserverName[]) {
      const attachment = await observerFor(name).attach({
        gatePid,
        pid1: container.pid(),
        programPath: programHostPath,
        signals: ctx.scenario.signals,
        dir,
        trialId: `${ctx.runId}-${id}`,
        programShared: ctx.programShared,
        reuse: true,
      });
      attached.push(attachment);
      attachments[name] = attachment;
      await note("observer", { name, ...attachment.describe() });
    }

    const hook = { variant, request, target, container, gatePid, pid1: container.pid(), attachments, dir, note };
    const sends = ctx.scenario.sends(request);
    const ignored = watchIgnored(attachments.kernel as Attachment<KernelRecord> | undefined, container.pid(), sends);
    await ctx.scenario.beforeRelease?.(hook);
    await ctx.containers.quiet();
    // The release is the point of no return for a trial: an interrupt before it starts nothing more.
    if (isShuttingDown()) throw new HarnessError("INTERRUPTED", "interrupted before the gate was released");
    const driver = await runDriver(ctx, container, gatePid, init, request, sends);
    ctx.afterSends();
    await note("driver", { ...driver }, driver.execNs);
    if (driver.error) {
      // The gate says why its exec failed both to the driver and on stderr: one copy is enough.
      const said = (await container.logs()).stderr.trim().split("\n")[0] ?? "";
      throw new HarnessError("TRIAL_FAILED", `trial ${id}: ${driver.error}${said && !driver.error.includes(said) ? ` (container said: ${said})` : ""}`);
    }
    if (driver.killError) throw new HarnessError("TRIAL_FAILED", `trial ${id}: the driver could not send the signal (${driver.killError}): PID 1 was gone before the offset`);
    await ctx.scenario.afterSends?.(hook);

    const settleMs = ctx.scenario.settleMs(request);
    // A signal the kernel ignored changed nothing: once every planned one was, the trial is
    // decided and need not wait out the settle time.
    let status = await Promise.race([container.wait(settleMs), ignored.then(() => null)]);
    if (status === null && (await container.wait(0)) === null && ignored.settled()) {
      await note("kernel-decided", { reason: "the kernel ignored every signal the driver sent", signal: "SIGKILL" });
      await container.signal("SIGKILL");
      status = await container.wait(10_000);
      if (status === null) throw new HarnessError("TRIAL_FAILED", `trial ${id}: PID ${container.pid()} survived SIGKILL for 10 s`);
    } else if (status === null) {
      await note("deadline-kill", { settleMs, signal: "SIGKILL" });
      await container.signal("SIGKILL");
      status = await container.wait(10_000);
      if (status === null) throw new HarnessError("TRIAL_FAILED", `trial ${id}: PID ${container.pid()} survived SIGKILL for 10 s`);
    }
    await note("exit", { code: status.code, signal: status.signal });

    for (const attachment of attached.splice(0)) await attachment.detach();
    const { stdout, stderr } = await container.logs();
    await ctx.bundle.writeRaw(join(dir, RAW_FILES.probe), stdout);
    if (stderr) {
      await ctx.bundle.writeRaw(join(dir, "stderr.txt"), stderr);
      // Also as a record: what a program that could not start said (the loader's error) is evidence.
      await note("stderr", { text: stderr.slice(0, STDERR_RECORD_CHARS) });
    }
  } finally {
    for (const attachment of attached) await attachment.detach().catch(() => {});
    ctx.containers.retire(container);
  }

  return loadTrialEvidence(ctx.bundle.dir, dir);
}

/**
 * Resolves once the kernel observer has reported every planned kill(2) to PID 1 as ignored;
 * never without the kernel observer, or when any of them was acted upon.
 */
function watchIgnored(kernel: Attachment<KernelRecord> | undefined, pid1: number, sends: Send[]): Promise<void> & { settled(): boolean } {
  const planned = sends.reduce((n, s) => n + (s.count ?? 1), 0);
  const signals = new Set(sends.map((s) => s.sig));
  let done = false;
  const promise = new Promise<void>((resolve) => {
    if (!kernel?.onRecord || planned === 0) return;
    let ignored = 0;
    let acted = false;
    kernel.onRecord((r) => {
      if (acted || r.kind !== "signal-generate" || r.targetPid !== pid1 || r.code !== SI_USER || !signals.has(r.sig)) return;
      if (r.resultName !== "ignored") acted = true;
      else if (++ignored === planned) {
        done = true;
        resolve();
      }
    });
  });
  return Object.assign(promise, { settled: () => done });
}

async function runDriver(ctx: TrialContext, container: Container, gatePid: number, init: InitKind, request: TrialRequest, sends: Send[]): Promise<DriverReport> {
  // With strace attached its rt_sigaction line times the handler exactly, and /proc reads
  // would only add load; without it the driver samples SigCgt. Under tini and dumb-init
  // the probe is PID 1's child, forked only after the release.
  const probeTarget = request.observers.includes("strace")
    ? []
    : init === "tini" || init === "dumb-init"
      ? ["-probe-child-of", String(container.pid()), "-probe-name", ctx.target.programName]
      : ["-probe-pid", String(gatePid), "-probe-name", ctx.target.programName];
  const lastUs = Math.max(0, ...sends.map((s) => s.atUs + ((s.count ?? 1) - 1) * (s.intervalUs ?? 0)));
  const timeoutMs = DRIVER_OPEN_TIMEOUT_MS + Math.ceil(lastUs / 1000) + DRIVER_SLACK_MS;
  const child = execa(
    ctx.binaries.driver,
    [
      "-fifo", container.gateFifoHostPath(),
      "-kill-pid", String(container.pid()),
      "-open-timeout", `${DRIVER_OPEN_TIMEOUT_MS}ms`,
      ...probeTarget,
      ...sends.flatMap((s) => ["-send", `${s.sig}@${s.atUs}x${s.count ?? 1}/${s.intervalUs ?? 0}`]),
    ],
    { reject: false, timeout: timeoutMs },
  );
  // On Ctrl-C the container goes first; a driver still blocked opening its FIFO would
  // otherwise wait out its own open timeout.
  const forget = onCleanup(() => {
    child.kill("SIGKILL");
  });
  const result = await child.finally(forget);
  const line = result.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as DriverReport;
  } catch {
    // A driver still waiting is waiting for the gate's exec: how the gate's threads stand
    // (stopped, traced, parked in the kernel) is what tells why it never came.
    const why = result.timedOut
      ? `it was still running after ${timeoutMs} ms (the last send was planned ${lastUs} µs after the exec); ${await describeThreads(gatePid)}`
      : `${result.exitCode ?? result.signal}: ${result.stderr.trim() || "no output"}`;
    throw new HarnessError("TRIAL_FAILED", `the driver failed (${why})`);
  }
}

/** CLOCK_REALTIME now, as decimal ns with µs resolution (what Node can read). */
const nowNs = (): string => `${Math.round((performance.timeOrigin + performance.now()) * 1000)}000`;
