// Reading a local image's config and files without running it: the image is inspected,
// and a container is created from it (never started, no network) so the Engine API's
// archive endpoints can stat (HEAD) and copy out (GET) single paths. runThrowaway is the
// one way to run something from it, bounded. Every container is removed on close, on
// Ctrl-C and on a crash, like every container the harness makes.

import { readlink } from "node:fs/promises";
import { Header, Parser, type ReadEntry } from "tar";
import Docker from "dockerode";
import { HarnessError } from "../errors.js";
import { onCleanup } from "../cleanup.js";
import { demultiplex, LABELS } from "./docker.js";

export interface ImageConfig {
  /** sha256:… */
  id: string;
  tags: string[];
  os: string;
  architecture: string;
  entrypoint: string[] | null;
  cmd: string[] | null;
  env: Record<string, string>;
  user: string;
  workingDir: string;
  /** HEALTHCHECK's test ("CMD", argv… / "CMD-SHELL", command / "NONE"), null when the image has none. */
  healthcheck: string[] | null;
  stopSignal: string | null;
  /** Seconds; only images committed from a container carry one. */
  stopTimeout: number | null;
}

export interface ImageFileStat {
  size: number;
  isDir: boolean;
  isSymlink: boolean;
  /** For a symlink, the absolute path the engine resolved it to (followed to the end). */
  linkTarget: string | null;
}

/** A command run from the image in a throwaway container (see ImageFiles.runThrowaway). */
export interface ThrowawayRun {
  argv: string[];
  env: Record<string, string>;
  /** Text files put into the container before it starts, at absolute paths. */
  files: { path: string; text: string }[];
  workingDir: string;
  /** A file to copy out after the command ended. */
  collect: string;
  timeoutMs: number;
}

export interface ThrowawayResult {
  /** null when the command was killed at its timeout. */
  exitCode: number | null;
  /** stdout and stderr, as the engine logged them. */
  output: string;
  collected: Buffer | null;
}

export interface ImageFiles {
  config: ImageConfig;
  /** null when the path does not exist in the image. */
  stat(path: string): Promise<ImageFileStat | null>;
  /** The regular file at path (symlinks followed); null when absent or not a regular file. */
  read(path: string): Promise<Buffer | null>;
  /**
   * Runs argv from the image in a container of its own: no network, as root (so it can
   * write where the files were put), at most 1 CPU, 1 GiB and 512 processes, killed at
   * the timeout, removed afterwards (and on Ctrl-C).
   */
  runThrowaway(run: ThrowawayRun): Promise<ThrowawayResult>;
  close(): Promise<void>;
}

// Go's os.FileMode bits, as the engine encodes them in X-Docker-Container-Path-Stat.
const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;
// A Go server is 5–50 MB; refusing past this keeps a huge file from filling memory.
const MAX_READ_BYTES = 512 * 1024 * 1024;
const PING_TIMEOUT_MS = 5_000;

/** Inspects the local image `reference` and opens its files; never pulls it, starts nothing by itself. */
export async function openImageFiles(reference: string, docker: Docker = new Docker()): Promise<ImageFiles> {
  const ping = docker.ping.bind(docker) as unknown as (opts: { abortSignal: AbortSignal }) => Promise<unknown>;
  await ping({ abortSignal: AbortSignal.timeout(PING_TIMEOUT_MS) }).catch((err: Error) => {
    throw new HarnessError("DOCKER_UNREACHABLE", `Docker engine not reachable: ${err.message}. Start it (e.g. \`dockerd &\` or \`systemctl start docker\`)`, { cause: err });
  });
  const info = await docker
    .getImage(reference)
    .inspect()
    .catch((err: { statusCode?: number; message?: string }) => {
      if (err.statusCode === 404 || err.statusCode === 400) {
        throw new HarnessError("BAD_INPUT", `no image ${JSON.stringify(reference)} in the local engine (audit never pulls): docker pull or docker build it first, or pass a binary path`);
      }
      throw err;
    });
  const config = readImageConfig(info);
  const labels = { [LABELS.owner]: String(process.pid), [LABELS.ownerPidNs]: await readlink("/proc/self/ns/pid") };
  const created = await docker.createContainer({
    Image: info.Id,
    // Never started: create needs a command for an image that has none.
    Entrypoint: ["/forensics-audit-never-starts"],
    Cmd: [],
    NetworkDisabled: true,
    Labels: labels,
  });
  let removed: Promise<void> | null = null;
  const remove = () => (removed ??= created.remove({ force: true, v: true }).catch(() => undefined));
  const forget = onCleanup(remove);

  const stat = async (path: string): Promise<ImageFileStat | null> => {
    try {
      const res = (await created.infoArchive({ path })) as { headers: Record<string, string | undefined>; resume(): void };
      res.resume();
      const header = res.headers["x-docker-container-path-stat"];
      if (header === undefined) return null;
      const s = JSON.parse(Buffer.from(header, "base64").toString()) as { size: number; mode: number; linkTarget?: string };
      const isSymlink = (s.mode & MODE_SYMLINK) !== 0;
      return { size: s.size, isDir: (s.mode & MODE_DIR) !== 0, isSymlink, linkTarget: isSymlink && s.linkTarget ? s.linkTarget : null };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw err;
    }
  };

  const read = async (path: string): Promise<Buffer | null> => {
    const s = await stat(path);
    if (s === null) return null;
    // GET archives a symlink as a link; the engine already resolved where it ends.
    const real = s.isSymlink ? s.linkTarget : path;
    const target = real === path ? s : real === null ? null : await stat(real);
    if (real === null || target === null || target.isDir || target.isSymlink) return null;
    if (target.size > MAX_READ_BYTES) throw new HarnessError("BAD_INPUT", `${real} in the image is ${target.size} bytes, more than audit reads (${MAX_READ_BYTES})`);
    return readFirstFile((await created.getArchive({ path: real })) as NodeJS.ReadableStream);
  };

  const runThrowaway = async (run: ThrowawayRun): Promise<ThrowawayResult> => {
    const container = await docker.createContainer({
      Image: info.Id,
      Entrypoint: run.argv,
      Cmd: [],
      Env: Object.entries(run.env).map(([k, v]) => `${k}=${v}`),
      User: "0:0",
      WorkingDir: run.workingDir,
      NetworkDisabled: true,
      Labels: labels,
      HostConfig: { NetworkMode: "none", Memory: 2 ** 30, NanoCpus: 1e9, PidsLimit: 512 },
    });
    const gone = onCleanup(() => container.remove({ force: true, v: true }).catch(() => undefined));
    try {
      await container.putArchive(Buffer.concat(tarOf(run.files)), { path: "/" });
      // A command the engine cannot exec (missing, wrong machine) is a result, as a shell reports it.
      const refused = await container.start().then(
        () => null,
        (err: Error) => err.message,
      );
      if (refused !== null) return { exitCode: 127, output: refused, collected: null };
      const abortSignal = AbortSignal.timeout(run.timeoutMs);
      const exitCode = await (container.wait({ abortSignal }) as Promise<{ StatusCode: number }>).then(
        (r) => r.StatusCode,
        async (err: unknown) => {
          if (!abortSignal.aborted) throw err;
          await container.kill().catch(() => undefined);
          return null;
        },
      );
      const logs = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
      const collected = await container.getArchive({ path: run.collect }).then(
        (stream) => readFirstFile(stream as NodeJS.ReadableStream),
        (err: { statusCode?: number }) => {
          if (err.statusCode === 404) return null;
          throw err;
        },
      );
      const { stdout, stderr } = demultiplex(logs);
      return { exitCode, output: `${stdout}${stderr}`, collected };
    } finally {
      await container.remove({ force: true, v: true }).catch(() => undefined);
      gone();
    }
  };

  return {
    config,
    stat,
    read,
    runThrowaway,
    async close() {
      await remove();
      forget();
    },
  };
}

/** A tar archive of text files at absolute paths (the leading / dropped), for putArchive at "/". */
function tarOf(files: { path: string; text: string }[]): Buffer[] {
  const blocks: Buffer[] = [];
  for (const f of files) {
    const data = Buffer.from(f.text);
    const header = Buffer.alloc(512);
    new Header({ path: f.path.replace(/^\/+/, ""), type: "File", mode: 0o644, size: data.length, mtime: new Date(0), uid: 0, gid: 0 }).encode(header);
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  // A tar archive ends with two zero blocks.
  return [...blocks, Buffer.alloc(1024)];
}

/** The first regular file of a tar stream (the archive of one path holds exactly that file). */
function readFirstFile(stream: NodeJS.ReadableStream): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    let found: Buffer | null = null;
    const parser = new Parser({
      onReadEntry: (entry: ReadEntry) => {
        if (found !== null || entry.type !== "File") {
          entry.resume();
          return;
        }
        const chunks: Buffer[] = [];
        entry.on("data", (c: Buffer) => chunks.push(c));
        entry.on("end", () => (found = Buffer.concat(chunks)));
      },
    });
    parser.on("end", () => resolve(found));
    parser.on("error", reject);
    stream.on("error", reject);
    stream.pipe(parser as unknown as NodeJS.WritableStream);
  });
}

function readImageConfig(info: Docker.ImageInspectInfo): ImageConfig {
  const c = info.Config as Docker.ImageInspectInfo["Config"] & { Healthcheck?: { Test?: string[] }; StopSignal?: string; StopTimeout?: number };
  const env: Record<string, string> = {};
  for (const kv of c.Env ?? []) {
    const eq = kv.indexOf("=");
    env[eq < 0 ? kv : kv.slice(0, eq)] = eq < 0 ? "" : kv.slice(eq + 1);
  }
  // The engine reports an unset ENTRYPOINT/CMD as null or as an empty array, depending on version.
  const argv = (v: string[] | string | null | undefined) => (Array.isArray(v) && v.length > 0 ? v : typeof v === "string" ? [v] : null);
  return {
    id: info.Id,
    tags: info.RepoTags ?? [],
    os: info.Os,
    architecture: info.Architecture,
    entrypoint: argv(c.Entrypoint as string[] | string | null | undefined),
    cmd: argv(c.Cmd),
    env,
    user: c.User ?? "",
    workingDir: c.WorkingDir || "/",
    healthcheck: c.Healthcheck?.Test && c.Healthcheck.Test.length > 0 ? c.Healthcheck.Test : null,
    stopSignal: c.StopSignal || null,
    stopTimeout: typeof c.StopTimeout === "number" ? c.StopTimeout : null,
  };
}
