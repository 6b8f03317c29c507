import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { kernelObserver } from "../../src/capture/kernel.js";
import type { Attachment } from "../../src/capture/observer.js";
import type { KernelRecord } from "../../src/parse/kernel-records.js";
import { selectTrialRecords } from "../../src/parse/kernel-tree.js";
import { buildProbe } from "../../src/probe/build.js";
import { launchers } from "../../src/probe/launchers.js";
import { createRuntime } from "../../src/runtime/index.js";
import { initCommand, initFiles } from "../../src/runtime/image.js";
import { GATE_PATH, type ExitStatus, type InitKind, type RuntimeKind } from "../../src/runtime/runtime.js";

// One trial the way src/scenario/trial.ts runs it (container with the gate, observer
// attached before the release, the driver signalling at an offset), reduced to what the
// kernel observer's tests, fixture captures and overhead measurements need.

export interface KernelTrialOptions {
  runtime: RuntimeKind;
  runId: string;
  trialId: string;
  /** Raw directory for the observer's files. */
  dir: string;
  /** Send SIGTERM this many µs after the exec; null: send nothing. */
  offsetUs: number | null;
  probeArgs?: string[];
  /** Attach the kernel observer (false: the driver samples SigCgt, as with observer set `none`). */
  observe?: boolean;
  /** SIGKILL PID 1 if it still runs this long after the driver returned. */
  settleMs?: number;
  /** Have the driver sample SigCgt until the handler shows (default: when not observing). */
  sampleHandler?: boolean;
  /** Called with the gate's PID before the observer attaches and the gate is released (a measuring instrument). */
  onGate?: (gatePid: number) => Promise<void>;
  /** What is PID 1 (default: the probe itself). */
  init?: InitKind;
  /** Probe name under go-probes (default sigterm). */
  probe?: string;
  /** A ready-built program to run as /probe instead of a go-probes build. */
  probePath?: string;
  /**
   * Leave what the observer keeps between a run's trials (its resting instances; under
   * Docker its uprobes) for the next trial, as a run does; the caller then calls
   * kernelObserver.release(). Default: released when the trial ends.
   */
  keep?: boolean;
}

export interface DriverReport {
  releaseNs: string;
  execNs: string;
  sendNs?: string;
  handlerSeenNs?: string;
  error?: string;
  killError?: string;
}

export interface KernelTrialResult {
  gatePid: number;
  pid1: number;
  driver: DriverReport;
  status: ExitStatus;
  /** The trial's records (signals aimed outside its tree dropped), both raw files. */
  records: KernelRecord[];
  streamed: KernelRecord[];
  /** CLOCK_REALTIME µs at which each streamed record reached onRecord's listener. */
  streamedAtUs: number[];
  stdout: string;
  describe: Record<string, unknown> | null;
}

export async function runKernelTrial(o: KernelTrialOptions): Promise<KernelTrialResult> {
  const [gate, driver, probe] = await Promise.all([
    buildProbe("gate"),
    buildProbe("driver"),
    o.probePath ? { path: o.probePath } : buildProbe(o.probe ?? "sigterm"),
  ]);
  await mkdir(o.dir, { recursive: true });
  const runtime = createRuntime(o.runtime, launchers);
  const container = await runtime.create({
    runId: o.runId,
    trialId: o.trialId,
    image: { files: [{ hostPath: gate.path, path: GATE_PATH }, { hostPath: probe.path, path: "/probe" }, ...(await initFiles(o.init ?? "none"))] },
    command: initCommand(o.init ?? "none", ["/probe", ...(o.probeArgs ?? [])]),
    env: {},
    init: o.init ?? "none",
  });
  let attachment: Attachment<KernelRecord> | null = null;
  const streamed: KernelRecord[] = [];
  const streamedAtUs: number[] = [];
  try {
    await container.start();
    const gatePid = await container.gatePid();
    await o.onGate?.(gatePid);
    if (o.observe !== false) {
      attachment = await kernelObserver.attach({
        gatePid,
        pid1: container.pid(),
        programPath: `/proc/${gatePid}/root/probe`,
        signals: [15],
        dir: o.dir,
        trialId: `${o.runId}-${o.trialId}`,
        programShared: runtime.sharesImageFiles,
        reuse: true,
      });
      attachment.onRecord?.((r) => {
        streamed.push(r);
        streamedAtUs.push(Math.round((performance.timeOrigin + performance.now()) * 1000));
      });
    }
    const probeTarget = (o.sampleHandler ?? o.observe === false) ? ["-probe-pid", String(gatePid), "-probe-name", "probe"] : [];
    const r = await execa(driver.path, [
      "-fifo", container.gateFifoHostPath(),
      "-kill-pid", String(container.pid()),
      ...probeTarget,
      "-offset-us", String(o.offsetUs ?? -1),
    ], { reject: false, timeout: 30_000 });
    const report = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as DriverReport;
    let status = await container.wait(o.settleMs ?? 2_000);
    if (status === null) {
      await container.signal("SIGKILL");
      status = await container.wait(10_000);
    }
    await attachment?.detach();
    const { stdout } = await container.logs();
    const raw: Record<string, string> = {};
    for (const name of kernelObserver.rawFiles) raw[name] = await readFile(join(o.dir, name), "utf8").catch(() => undefined as never);
    const records = attachment ? selectTrialRecords(kernelObserver.parse(raw), [gatePid, container.pid()]) : [];
    return { gatePid, pid1: container.pid(), driver: report, status: status!, records, streamed, streamedAtUs, stdout, describe: attachment?.describe() ?? null };
  } finally {
    await attachment?.detach();
    if (o.keep !== true) await kernelObserver.release?.();
    await container.remove();
  }
}
