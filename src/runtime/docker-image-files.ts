// Reading a local image's config and files without running it: the image is inspected,
// and a container is created from it (never started, no network) so the Engine API's
// archive endpoints can stat (HEAD) and copy out (GET) single paths; the container is
// removed on close, on Ctrl-C and on a crash, like every container the harness makes.

import { readlink } from "node:fs/promises";
import { Parser, type ReadEntry } from "tar";
import Docker from "dockerode";
import { HarnessError } from "../errors.js";
import { onCleanup } from "./cleanup.js";
import { LABELS } from "./docker.js";

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

export interface ImageFiles {
  config: ImageConfig;
  /** null when the path does not exist in the image. */
  stat(path: string): Promise<ImageFileStat | null>;
  /** The regular file at path (symlinks followed); null when absent or not a regular file. */
  read(path: string): Promise<Buffer | null>;
  close(): Promise<void>;
}

// Go's os.FileMode bits, as the engine encodes them in X-Docker-Container-Path-Stat.
const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;
// A Go server is 5–50 MB; refusing past this keeps a huge file from filling memory.
const MAX_READ_BYTES = 512 * 1024 * 1024;
const PING_TIMEOUT_MS = 5_000;

/** Inspects the local image `reference` and opens its files; never pulls, never starts it. */
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
  const created = await docker.createContainer({
    Image: info.Id,
    // Never started: create needs a command for an image that has none.
    Entrypoint: ["/forensics-audit-never-starts"],
    Cmd: [],
    NetworkDisabled: true,
    Labels: { [LABELS.owner]: String(process.pid), [LABELS.ownerPidNs]: await readlink("/proc/self/ns/pid") },
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

  return {
    config,
    stat,
    read,
    async close() {
      await remove();
      forget();
    },
  };
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
