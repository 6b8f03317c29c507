// The daemonless runtime: each trial is a chroot in fresh PID and mount namespaces,
// started by our nsrun launcher (go-probes/nsrun, whose header says why not unshare(1)).
// Every process carries FORENSICS_RUN and FORENSICS_OWNER in its environment: that is how
// removeDebris() recognises what a dead harness left behind.

import { constants as osConstants } from "node:os";
import { constants } from "node:fs";
import { copyFile, chmod, mkdir, rm, symlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { HarnessError } from "../errors.js";
import { onCleanup } from "../cleanup.js";
import { waitForGate } from "./gate-wait.js";
import { resolveImage, type ResolvedEntry } from "./image.js";
import { isAlive, processesWithEnv } from "./procfs.js";
import { makeFifo, makeTrialDir } from "./run-dir.js";
import { GATE_DIR, GATE_FIFO, gateArgv, type Container, type ContainerSpec, type ExitStatus, type Runtime } from "./runtime.js";

const START_TIMEOUT_MS = 10_000;
const REAP_TIMEOUT_MS = 5_000;

/** `nsrun` resolves to the launcher's host path (go-probes/nsrun, built by the caller). */
export function createNamespaceRuntime(launcher: () => Promise<string>): Runtime {
  let path: Promise<string> | null = null;
  const nsrun = () => (path ??= launcher());

  return {
    kind: "namespace",
    // Each trial's root gets its own copies of the files (fillRoot: copies, never links).
    sharesImageFiles: false,
    async preflight() {
      const path = await nsrun();
      // A no-op trial: nsrun itself, run without arguments in an unchanged root, prints
      // its usage and exits 125; only creating the namespaces can fail.
      const child = execa(path, ["-root", "/", "--", path], {
        stdio: ["ignore", "pipe", "pipe", "pipe"],
        reject: false,
        extendEnv: false,
        env: { FORENSICS_OWNER: String(process.pid) },
      });
      const reports: LauncherReport[] = [];
      for await (const report of reportLines(child.stdio[3] as Readable)) reports.push(report);
      const result = await child;
      if (reports[0]?.pid === undefined) {
        const why = reports[0]?.error ?? (result.stderr.trim() || `nsrun exited ${result.exitCode ?? result.signal}`);
        throw new HarnessError(
          "NAMESPACE_DENIED",
          `cannot create PID and mount namespaces (${why}): run forensics as root (it needs CAP_SYS_ADMIN), or use --runtime docker`,
        );
      }
    },
    async create(spec) {
      if (spec.mounts?.length) {
        throw new HarnessError("BAD_INPUT", "bind mounts exist only under --runtime docker; under --runtime namespace the program mounts for itself");
      }
      if (spec.engineImage) throw new HarnessError("USAGE", `--image runs an image of the Docker engine: add --runtime docker (or use --binary with the namespace runtime)`);
      if (spec.init === "docker-init") {
        throw new HarnessError("BAD_INPUT", "init docker-init exists only under --runtime docker; use tini (the same program) with --runtime namespace");
      }
      const image = await resolveImage(spec.image);
      const trialDir = await makeTrialDir(spec.runId, spec.trialId);
      const container = new NamespaceContainer(spec, trialDir, nsrun);
      container.forget = onCleanup(() => container.remove());
      const root = join(trialDir, "root");
      try {
        await fillRoot(root, image.files);
        await mkdir(join(root, GATE_DIR));
        // The gate, as the namespace's PID 1, mounts procfs here (go-probes/gate).
        await mkdir(join(root, "proc"), { recursive: true });
        await makeFifo(container.gateFifoHostPath());
      } catch (err) {
        await container.remove();
        throw err;
      }
      return container;
    },
    async removeDebris() {
      const removed: string[] = [];
      for (const { pid, value } of await processesWithEnv("FORENSICS_OWNER")) {
        const owner = Number(value);
        if (owner === process.pid || (await isAlive(owner))) continue;
        // SIGKILL to a namespace's PID 1 makes the kernel kill everything inside it.
        try {
          process.kill(pid, "SIGKILL");
          removed.push(`process ${pid} (harness ${owner} dead)`);
        } catch {
          // Gone already, together with its namespace.
        }
      }
      return removed;
    },
  };
}

// Copies, never hard links: the trial runs as root inside the chroot, and a write to a
// linked /lib/…/libc.so.6 or zoneinfo file would change the host's own file. Reflinks make
// the copy free where the filesystem has them; elsewhere it costs a few ms per trial.
async function fillRoot(root: string, files: ResolvedEntry[]): Promise<void> {
  for (const f of files) {
    const dest = join(root, f.path);
    await mkdir(dirname(dest), { recursive: true });
    if (f.kind === "symlink") {
      await symlink(f.target, dest);
      continue;
    }
    await copyFile(f.realPath, dest, constants.COPYFILE_FICLONE);
    await chmod(dest, f.mode);
  }
}

/** One JSON line nsrun writes on fd 3. */
interface LauncherReport {
  pid?: number;
  exit?: number | null;
  signal?: string | null;
  coreDumped?: boolean;
  error?: string;
}

class NamespaceContainer implements Container {
  readonly id: string;
  forget: () => void = () => {};
  #launched: { child: Promise<unknown>; pid: number; status: Promise<ExitStatus> } | null = null;
  #ended = false;
  #stdout = "";
  #stderr = "";
  #removed: Promise<void> | null = null;

  constructor(
    private readonly spec: ContainerSpec,
    private readonly trialDir: string,
    private readonly nsrun: () => Promise<string>,
  ) {
    this.id = spec.trialId;
  }

  gateFifoHostPath(): string {
    return join(this.trialDir, "root", GATE_FIFO);
  }

  async start(): Promise<void> {
    const child = execa(await this.nsrun(), ["-root", join(this.trialDir, "root"), "--", ...gateArgv(this.spec.command)], {
      // Its own session: a Ctrl-C in the terminal reaches the harness, never PID 1.
      detached: true,
      stdio: ["ignore", "pipe", "pipe", "pipe"],
      buffer: false,
      reject: false,
      // Exactly the spec's environment: the harness's TZ or LANG would spoil the evidence.
      extendEnv: false,
      env: { ...this.spec.env, FORENSICS_RUN: this.spec.runId, FORENSICS_OWNER: String(process.pid) },
    });
    child.stdout.on("data", (chunk: Buffer) => (this.#stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (this.#stderr += chunk.toString()));
    const reports = reportLines(child.stdio[3] as Readable);
    const failStart = (why: string) => new HarnessError("TRIAL_FAILED", `nsrun could not start the container: ${why}`);

    const first = await reports.next();
    if (first.done || first.value.pid === undefined) {
      const result = await child;
      throw failStart(first.done ? this.#stderr.trim() || `nsrun ended (${result.exitCode ?? result.signal})` : (first.value.error ?? "bad report"));
    }
    const pid = first.value.pid;
    const status = (async (): Promise<ExitStatus> => {
      const last = await reports.next();
      await child;
      this.#ended = true;
      if (last.done) throw new HarnessError("TRIAL_FAILED", `nsrun died without reporting how PID ${pid} ended: ${this.#stderr.trim()}`);
      return toExitStatus(last.value);
    })();
    // Observed through wait(); this keeps an unobserved failure from crashing the harness.
    status.catch(() => {});
    this.#launched = { child, pid, status };

    await waitForGate(
      { gatePid: async () => pid, ended: async () => (this.#ended ? this.#stderr : null) },
      START_TIMEOUT_MS,
    );
  }

  pid(): number {
    return this.#started().pid;
  }

  async gatePid(): Promise<number> {
    return this.#started().pid;
  }

  async signal(sig: NodeJS.Signals): Promise<void> {
    const { pid } = this.#started();
    if (this.#ended) return;
    try {
      process.kill(pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
    }
  }

  async stop(timeoutSec: number): Promise<void> {
    await this.signal("SIGTERM");
    if ((await this.wait(timeoutSec * 1000)) !== null) return;
    await this.signal("SIGKILL");
    await this.wait(REAP_TIMEOUT_MS);
  }

  async wait(timeoutMs: number): Promise<ExitStatus | null> {
    const { status } = this.#started();
    const timedOut = sleep(timeoutMs, null, { ref: false });
    return Promise.race([status, timedOut]);
  }

  async logs(): Promise<{ stdout: string; stderr: string }> {
    return { stdout: this.#stdout, stderr: this.#stderr };
  }

  remove(): Promise<void> {
    this.#removed ??= (async () => {
      if (this.#launched !== null && !this.#ended) {
        await this.signal("SIGKILL");
        await Promise.race([this.#launched.child, sleep(REAP_TIMEOUT_MS)]);
      }
      await rm(this.trialDir, { recursive: true, force: true });
      this.forget();
    })();
    return this.#removed;
  }

  #started() {
    if (this.#launched === null) throw new Error(`container ${this.id} was not started`);
    return this.#launched;
  }
}

async function* reportLines(stream: Readable): AsyncGenerator<LauncherReport> {
  let buffered = "";
  for await (const chunk of stream) {
    buffered += String(chunk);
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim() !== "") yield JSON.parse(line) as LauncherReport;
    }
  }
}

/** Shells and docker say 128+N for "killed by signal N"; the name keeps them apart. */
function toExitStatus(report: LauncherReport): ExitStatus {
  if (report.signal) {
    const rt = /^SIGRT_(\d+)$/.exec(report.signal);
    const signo = rt ? 32 + Number(rt[1]) : osConstants.signals[report.signal as NodeJS.Signals];
    return { code: 128 + signo, signal: report.signal };
  }
  return { code: report.exit ?? 0, signal: null };
}
