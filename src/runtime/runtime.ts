// The only contract scenarios see. Docker, namespaces, and later Kubernetes pods live
// behind it; nothing above src/runtime/ may import dockerode or spawn unshare.

export type RuntimeKind = "namespace" | "docker";
export const RUNTIME_KINDS: readonly RuntimeKind[] = ["namespace", "docker"];

/** What is PID 1: the program itself, or an init that forwards signals to it. */
export type InitKind = "none" | "tini" | "dumb-init" | "docker-init";
export const INIT_KINDS: readonly InitKind[] = ["none", "tini", "dumb-init", "docker-init"];

/**
 * One entry of the container's root: a host file copied to `path`, or a symbolic link at
 * `path` pointing at `symlink` (which may dangle: whether it resolves is the experiment).
 */
export type ImageFile = { hostPath: string; path: string } | { symlink: string; path: string };

/** Exactly the files the container's root holds; no base image, no registry. */
export interface ImageSpec {
  files: ImageFile[];
}

/**
 * A bind mount the runtime sets up when it creates the container: from a host path, or
 * from a path inside the trial's own host directory (removed with the trial), which the
 * engine creates as a directory when it is missing (docker's -v rule).
 */
export interface ContainerMount {
  source: { host: string } | { inTrialDir: string };
  path: string;
  readOnly: boolean;
}

/**
 * Where the gate and its FIFO live inside every container. The runtime creates the FIFO
 * and decides where it lives on the host (a bind mount for docker, a file inside the
 * chroot for namespace); Container.gateFifoHostPath() tells the driver where to open it.
 */
export const GATE_PATH = "/gate";
export const GATE_DIR = "/.forensics";
export const GATE_FIFO = `${GATE_DIR}/gate.fifo`;

export interface ContainerSpec {
  /** Like trialId: [A-Za-z0-9][A-Za-z0-9_.-]* (both become host paths and labels). */
  runId: string;
  /** Unique per trial within the run; names and labels everything the trial creates. */
  trialId: string;
  /** Must contain the gate at GATE_PATH. */
  image: ImageSpec;
  /** argv the gate execs once released (absolute paths inside the image). */
  command: string[];
  /**
   * The program's environment; nothing of the harness's leaks in. What each runtime adds
   * anyway: namespace FORENSICS_RUN and FORENSICS_OWNER (its debris labels), docker PATH,
   * HOSTNAME and HOME (the engine's defaults).
   */
  env: Record<string, string>;
  /** `docker-init` is the runtime's own init; the other inits are part of `command`. */
  init: InitKind;
  /** Bind mounts; only the docker runtime has them (the namespace runtime refuses). */
  mounts?: ContainerMount[];
  /**
   * Run from an image the engine already has (the docker runtime only) instead of one
   * assembled from `image`: that image is not changed. The gate (`image`'s only file) is
   * bind-mounted beside its FIFO under GATE_DIR, and the image's user, working directory
   * and environment apply as the engine applies them (`env` adds to it).
   */
  engineImage?: string;
}

/** Where the gate is inside a container built from an engine image: beside its FIFO. */
export const INJECTED_GATE_PATH = `${GATE_DIR}/gate`;

/** The gate's full argv: it blocks opening the FIFO, then execs `command`. */
export const gateArgv = (command: string[], gatePath = GATE_PATH): string[] => [gatePath, GATE_FIFO, "--", ...command];

/** What an engine image runs and as whom (its config), for targets the user names by image. */
export interface EngineImageConfig {
  id: string;
  entrypoint: string[];
  cmd: string[];
  env: string[];
  user: string;
  workingDir: string;
}

export interface ExitStatus {
  /** As the runtime reports it: docker and shells say 128+N for "killed by signal N". */
  code: number;
  /** The signal that killed PID 1, when the runtime can tell it apart from an exit. */
  signal: string | null;
}

export interface Container {
  readonly id: string;
  /**
   * Resolves once PID 1 exists on the host and the gate is blocked opening its FIFO;
   * throws TRIAL_FAILED (with the container's stderr) if the gate dies before that.
   */
  start(): Promise<void>;
  /** Host path of the gate's FIFO: opening it for reading releases the gate. */
  gateFifoHostPath(): string;
  /** Host PID of the container's PID 1. */
  pid(): number;
  /** Host PID of the gate (the process to trace); differs from pid() under docker-init. */
  gatePid(): Promise<number>;
  /** Sends sig to PID 1; a container that has already exited is not an error. */
  signal(sig: NodeJS.Signals): Promise<void>;
  /** `docker stop` semantics: SIGTERM, wait up to timeoutSec, then SIGKILL. */
  stop(timeoutSec: number): Promise<void>;
  /** The exit status, or null if PID 1 is still running after timeoutMs. */
  wait(timeoutMs: number): Promise<ExitStatus | null>;
  logs(): Promise<{ stdout: string; stderr: string }>;
  /** Kills whatever still runs and removes every trace of the container. Idempotent. */
  remove(): Promise<void>;
}

export interface Runtime {
  readonly kind: RuntimeKind;
  /**
   * Every container made from one spec's files runs the same inode of each (an image
   * layer's, seen through each container's overlay), not a copy of its own: what an
   * observer hooks on the program's file in one trial holds for the next.
   */
  readonly sharesImageFiles: boolean;
  /** Throws a HarnessError naming the fix when this runtime cannot work here. */
  preflight(): Promise<void>;
  create(spec: ContainerSpec): Promise<Container>;
  /** The config of an image the engine has; throws BAD_INPUT naming the image when it has none (docker only). */
  inspectImage?(ref: string): Promise<EngineImageConfig>;
  /** The first of `paths` that is a regular file in the image (links followed), read without running it; null when none is (docker only). */
  readImageFile?(ref: string, paths: string[]): Promise<{ path: string; bytes: Buffer } | null>;
  /**
   * Removes what dead harnesses left in this runtime (containers, processes), never a live
   * one's; returns what it removed, described. Shared debris (run dirs, tracefs) is
   * removeDebris()'s in debris.ts, which calls this for every runtime.
   */
  removeDebris(): Promise<string[]>;
}
