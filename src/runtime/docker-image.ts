// Docker images without a registry: FROM scratch plus exactly an ImageSpec's files, sent
// as a tar build context through the Engine API and tagged by the spec's content hash, so
// an image is built once per distinct set of files and then found by inspect.

import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import type Docker from "dockerode";
import { Header } from "tar";
import { HarnessError } from "../errors.js";
import type { ResolvedEntry, ResolvedImage } from "./image.js";

export const IMAGE_LABEL = "forensics";

// The classic builder's COPY keeps the context's modes and makes files root-owned.
const DOCKERFILE = `FROM scratch\nCOPY rootfs/ /\nLABEL ${IMAGE_LABEL}=1\n`;

const building = new Map<string, Promise<void>>();

export const imageTag = (image: ResolvedImage): string => `forensics/${image.hash.slice(0, 24)}:latest`;

/** Returns the tag, building the image first unless the engine has it already. */
export async function ensureImage(docker: Docker, image: ResolvedImage): Promise<{ tag: string; built: boolean }> {
  const tag = imageTag(image);
  const present = await docker
    .getImage(tag)
    .inspect()
    .then(
      () => true,
      (err: { statusCode?: number }) => {
        if (err.statusCode === 404) return false;
        throw err;
      },
    );
  if (present) return { tag, built: false };
  // Trials of one variant start together; one build serves them all.
  let pending = building.get(tag);
  if (pending === undefined) {
    pending = buildImage(docker, image, tag).finally(() => building.delete(tag));
    building.set(tag, pending);
  }
  await pending;
  return { tag, built: true };
}

/** What an image runs and as whom, in Dockerfile terms (exec form). */
export interface ImageConfig {
  entrypoint?: string[];
  cmd?: string[];
  user?: string;
  env?: Record<string, string>;
}

/**
 * Builds a tagged image FROM scratch holding exactly `image`'s files, with a config: how
 * tests make the kind of image a user would bring (`--image`), without a registry.
 */
export async function buildConfiguredImage(docker: Docker, image: ResolvedImage, tag: string, config: ImageConfig): Promise<void> {
  const lines = [
    ...Object.entries(config.env ?? {}).map(([k, v]) => `ENV ${k}=${JSON.stringify(v)}`),
    ...(config.user ? [`USER ${config.user}`] : []),
    ...(config.entrypoint ? [`ENTRYPOINT ${JSON.stringify(config.entrypoint)}`] : []),
    ...(config.cmd ? [`CMD ${JSON.stringify(config.cmd)}`] : []),
  ];
  await buildImage(docker, image, tag, `${DOCKERFILE}${lines.join("\n")}\n`);
}

async function buildImage(docker: Docker, image: ResolvedImage, tag: string, dockerfile = DOCKERFILE): Promise<void> {
  // No build cache: the classic builder's COPY cache does not tell two symlinks with
  // different targets apart (measured: a dangling /etc/localtime came out pointing where
  // an earlier image's link did). The tag is our cache: equal contents, equal tag.
  const progress = await docker.buildImage(Readable.from(buildContext(image.files, dockerfile)), { t: tag, rm: true, forcerm: true, nocache: true });
  const events = await new Promise<{ error?: string; errorDetail?: { message?: string } }[]>((resolve, reject) =>
    docker.modem.followProgress(progress, (err: Error | null, output: { error?: string }[]) => (err ? reject(err) : resolve(output))),
  );
  const failed = events.find((e) => e.error !== undefined);
  if (failed) throw new HarnessError("TRIAL_FAILED", `docker could not build image ${tag}: ${failed.errorDetail?.message ?? failed.error}`);
}

/** A tar stream: the Dockerfile, then every file under rootfs/ at its image path. */
async function* buildContext(files: ResolvedEntry[], text: string): AsyncGenerator<Buffer> {
  const dockerfile = Buffer.from(text);
  yield header("Dockerfile", 0o644, dockerfile.length);
  yield padded(dockerfile);
  for (const f of files) {
    // COPY keeps a symlink of the context as a symlink, dangling or not.
    if (f.kind === "symlink") {
      yield header(`rootfs${f.path}`, 0o777, 0, f.target);
      continue;
    }
    yield header(`rootfs${f.path}`, f.mode, f.size);
    for await (const chunk of createReadStream(f.realPath)) yield chunk as Buffer;
    yield Buffer.alloc(padding(f.size));
  }
  // A tar archive ends with two zero blocks.
  yield Buffer.alloc(1024);
}

function header(path: string, mode: number, size: number, linkpath?: string): Buffer {
  const block = Buffer.alloc(512);
  const type = linkpath === undefined ? "File" : "SymbolicLink";
  const needsPax = new Header({ path, mode, size, type, linkpath, mtime: new Date(0), uid: 0, gid: 0 }).encode(block);
  if (needsPax) throw new HarnessError("BAD_INPUT", `image path too long for a plain tar header: ${path}`);
  return block;
}

const padding = (size: number): number => (512 - (size % 512)) % 512;
const padded = (data: Buffer): Buffer => Buffer.concat([data, Buffer.alloc(padding(data.length))]);
