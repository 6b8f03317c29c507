// The Docker runtime, through the Engine API (dockerode honours DOCKER_HOST). Containers
// are labelled with their run, trial and owner (the harness PID and its PID namespace), so
// removeDebris() can remove what a dead harness left without touching a live one's.

import { chmod, copyFile, mkdir, readlink, rm } from "node:fs/promises";
import { join } from "node:path";
import Docker from "dockerode";
import { HarnessError } from "../errors.js";
import { onCleanup } from "../cleanup.js";
import { ensureImage } from "./docker-image.js";
import { openImageFiles } from "./docker-image-files.js";
import { waitForGate } from "./gate-wait.js";
import { resolveImage, type ResolvedFile } from "./image.js";
import { firstChild, isAlive } from "./procfs.js";
import { makeFifo, makeTrialDir } from "./run-dir.js";
import { GATE_DIR, GATE_FIFO, GATE_PATH, gateArgv, INJECTED_GATE_PATH, type Container, type ContainerSpec, type ExitStatus, type Runtime } from "./runtime.js";

const START_TIMEOUT_MS = 10_000;
const PING_TIMEOUT_MS = 5_000;
/** Shorter: a run on the namespace runtime should not wait long for an engine it does not need. */
const DEBRIS_PING_TIMEOUT_MS = 2_000;

const pingWithin = (docker: Docker, timeoutMs: number): Promise<unknown> => {
  // @types/dockerode omits ping's options; dockerode 4 passes abortSignal on (lib/docker.js).
  const ping = docker.ping.bind(docker) as unknown as (opts: { abortSignal: AbortSignal }) => Promise<unknown>;
  return ping({ abortSignal: AbortSignal.timeout(timeoutMs) });
};

export const LABELS = {
  run: "forensics.run",
  trial: "forensics.trial",
  owner: "forensics.owner",
  // A PID means nothing outside its namespace: a harness in another container talking to
  // the same engine must not have its containers swept because its PID looks dead here.
  ownerPidNs: "forensics.owner-pidns",
} as const;

const pidNamespace = (): Promise<string> => readlink("/proc/self/ns/pid");

export function createDockerRuntime(docker: Docker = new Docker()): Runtime {
  return {
    kind: "docker",
    sharesImageFiles: true,
    async preflight() {
      await pingWithin(docker, PING_TIMEOUT_MS).catch((err: Error) => {
        throw new HarnessError(
          "DOCKER_UNREACHABLE",
          `Docker engine not reachable at ${engineAddress(docker)}: ${err.message}. ` +
            "Start it (e.g. `dockerd &` or `systemctl start docker`) or use --runtime namespace",
          { cause: err },
        );
      });
    },
    async inspectImage(ref) {
      const info = await docker
        .getImage(ref)
        .inspect()
        .catch((err: { statusCode?: number; message?: string }) => {
          if (err.statusCode === 404) throw new HarnessError("BAD_INPUT", `image ${ref} is not in the local Docker engine (see docker images; forensics never pulls)`);
          throw err;
        });
      const c = info.Config;
      // The API gives a string for an entrypoint set in shell form by old builders.
      const entrypoint = typeof c.Entrypoint === "string" ? ["/bin/sh", "-c", c.Entrypoint] : (c.Entrypoint ?? []);
      return { id: info.Id, entrypoint, cmd: c.Cmd ?? [], env: c.Env ?? [], user: c.User ?? "", workingDir: c.WorkingDir ?? "" };
    },
    async readImageFile(ref, paths) {
      const files = await openImageFiles(ref, docker);
      try {
        for (const path of paths) {
          const bytes = await files.read(path);
          if (bytes !== null) return { path, bytes };
        }
        return null;
      } finally {
        await files.close();
      }
    },
    async create(spec) {
      const image = await resolveImage(spec.image);
      const tag = spec.engineImage ?? (await ensureImage(docker, image)).tag;
      const trialDir = await makeTrialDir(spec.runId, spec.trialId);
      const gateDir = join(trialDir, "gate");
      const fifo = join(gateDir, GATE_FIFO.slice(GATE_DIR.length + 1));
      let created: Docker.Container;
      try {
        await mkdir(gateDir);
        if (spec.engineImage) {
          // The image's user may not be root: it must be able to run the gate and write the FIFO.
          await copyFile(image.files.find((f): f is ResolvedFile => f.kind === "file" && f.path === GATE_PATH)!.realPath, join(gateDir, "gate"));
          await chmod(join(gateDir, "gate"), 0o755);
          await chmod(gateDir, 0o755);
          await makeFifo(fifo, "0622");
        } else {
          await makeFifo(fifo);
        }
        created = await docker.createContainer(containerOptions(spec, tag, gateDir, trialDir, await pidNamespace()));
      } catch (err) {
        await rm(trialDir, { recursive: true, force: true });
        throw err;
      }
      const container = new DockerContainer(created, spec, trialDir, fifo);
      container.forget = onCleanup(() => container.remove());
      return container;
    },
    async removeDebris() {
      // Called whatever runtime the next run uses: an engine that does not answer has no
      // containers to remove that this host could reach.
      if (!(await pingWithin(docker, DEBRIS_PING_TIMEOUT_MS).then(() => true, () => false))) return [];
      const ours = await pidNamespace();
      const found = await docker.listContainers({ all: true, filters: { label: [LABELS.owner] } });
      const removed: string[] = [];
      for (const info of found) {
        const owner = Number(info.Labels[LABELS.owner]);
        if (info.Labels[LABELS.ownerPidNs] !== ours || owner === process.pid || (await isAlive(owner))) continue;
        await removeContainer(docker.getContainer(info.Id));
        removed.push(`container ${info.Id.slice(0, 12)} (run ${info.Labels[LABELS.run] ?? "?"}, harness ${owner} dead)`);
      }
      return removed;
    },
  };
}

function containerOptions(spec: ContainerSpec, image: string, gateDir: string, trialDir: string, pidNs: string): Docker.ContainerCreateOptions {
  // -v semantics on purpose: a missing source becomes a directory the engine creates.
  const binds = (spec.mounts ?? []).map((m) => `${"host" in m.source ? m.source.host : join(trialDir, m.source.inTrialDir)}:${m.path}${m.readOnly ? ":ro" : ""}`);
  return {
    Image: image,
    Entrypoint: gateArgv(spec.command, spec.engineImage ? INJECTED_GATE_PATH : GATE_PATH),
    Cmd: [],
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: {
      [LABELS.run]: spec.runId,
      [LABELS.trial]: spec.trialId,
      [LABELS.owner]: String(process.pid),
      [LABELS.ownerPidNs]: pidNs,
    },
    HostConfig: {
      Init: spec.init === "docker-init",
      Binds: [`${gateDir}:${GATE_DIR}`, ...binds],
      // We read the exit code and the logs after the end, then remove it ourselves.
      AutoRemove: false,
    },
  };
}

function engineAddress(docker: Docker): string {
  // The modem's resolved address (from DOCKER_HOST or the default socket); untyped upstream.
  const { socketPath, host, port, protocol } = docker.modem as unknown as { socketPath?: string; host?: string; port?: string | number; protocol?: string };
  return socketPath ? `unix://${socketPath}` : `${protocol ?? "http"}://${host ?? "localhost"}:${port ?? ""}`;
}

/** Ignores the engine's "already so" answers: 304 (stopped), 404 (gone), 409 (not running, removal in progress). */
const ignoreStatus = (...codes: number[]) => (err: { statusCode?: number }) => {
  if (err.statusCode === undefined || !codes.includes(err.statusCode)) throw err;
};

const removeContainer = (c: Docker.Container): Promise<void> =>
  c.remove({ force: true, v: true }).catch(ignoreStatus(404, 409));

class DockerContainer implements Container {
  readonly id: string;
  forget: () => void = () => {};
  #pid: number | null = null;
  #gatePid: number | null = null;
  #removed: Promise<void> | null = null;

  constructor(
    private readonly container: Docker.Container,
    private readonly spec: ContainerSpec,
    private readonly trialDir: string,
    private readonly fifo: string,
  ) {
    this.id = container.id;
  }

  gateFifoHostPath(): string {
    return this.fifo;
  }

  async start(): Promise<void> {
    await this.container.start().catch((err: Error) => {
      throw new HarnessError("TRIAL_FAILED", `docker could not start container ${this.id.slice(0, 12)}: ${err.message}`, { cause: err });
    });
    const { State } = await this.container.inspect();
    const pid = State.Pid;
    if (!pid) {
      const { stderr } = await this.logs();
      throw new HarnessError("TRIAL_FAILED", `the container's entrypoint exited before the gate was released: ${stderr.trim() || `exit ${State.ExitCode}`}`);
    }
    this.#pid = pid;
    await waitForGate(
      {
        // Under docker-init the gate is PID 1's child, forked some time after PID 1 exists.
        gatePid: async () => (this.#gatePid ??= this.spec.init === "docker-init" ? await firstChild(pid) : pid),
        ended: async () => ((await isAlive(pid)) ? null : (await this.logs()).stderr),
      },
      START_TIMEOUT_MS,
    );
  }

  pid(): number {
    if (this.#pid === null) throw new Error(`container ${this.id} was not started`);
    return this.#pid;
  }

  async gatePid(): Promise<number> {
    if (this.#gatePid === null) throw new Error(`container ${this.id} was not started`);
    return this.#gatePid;
  }

  async signal(sig: NodeJS.Signals): Promise<void> {
    await this.container.kill({ signal: sig }).catch(ignoreStatus(409));
  }

  async stop(timeoutSec: number): Promise<void> {
    await this.container.stop({ t: timeoutSec }).catch(ignoreStatus(304));
  }

  /** Docker reports 128+N for a signal death and cannot tell it from exit(128+N). */
  async wait(timeoutMs: number): Promise<ExitStatus | null> {
    const abortSignal = AbortSignal.timeout(Math.ceil(timeoutMs));
    try {
      const { StatusCode } = (await this.container.wait({ abortSignal })) as { StatusCode: number };
      return { code: StatusCode, signal: null };
    } catch (err) {
      if (!abortSignal.aborted) throw err;
    }
    // The timer may beat the engine's answer about a container that has already exited
    // (always so for wait(0)); its state settles that.
    const { State } = await this.container.inspect();
    return State.Status === "exited" || State.Status === "dead" ? { code: State.ExitCode, signal: null } : null;
  }

  async logs(): Promise<{ stdout: string; stderr: string }> {
    const raw = (await this.container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    return demultiplex(raw);
  }

  remove(): Promise<void> {
    this.#removed ??= (async () => {
      await removeContainer(this.container);
      await rm(this.trialDir, { recursive: true, force: true });
      this.forget();
    })();
    return this.#removed;
  }
}

/**
 * Without a TTY the engine frames each chunk with 8 bytes: the stream (1 stdout,
 * 2 stderr), three zero bytes, and the payload length as a big-endian uint32.
 */
export function demultiplex(raw: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  for (let at = 0; at + 8 <= raw.length; ) {
    const size = raw.readUInt32BE(at + 4);
    const payload = raw.subarray(at + 8, at + 8 + size);
    (raw[at] === 2 ? err : out).push(payload);
    at += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}
