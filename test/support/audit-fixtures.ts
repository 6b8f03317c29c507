// What the audit tests audit: Go fixture programs (test/fixtures/audit) built with the
// flags a test names, and FROM-scratch images assembled from host files through the Engine
// API with the Dockerfile lines a test names (ENTRYPOINT, ENV, USER, …). Everything made
// here is removed by removeAuditFixtures().

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Readable } from "node:stream";
import Docker from "dockerode";
import { Header } from "tar";
import { makeGoEnv, resolveGoBinary, runGoBuild } from "../../src/probe/go-toolchain.js";

export const FIXTURES = fileURLToPath(new URL("../fixtures/audit", import.meta.url));
const docker = new Docker();
const images: string[] = [];
let workDir: Promise<string> | null = null;

const dir = () => (workDir ??= mkdtemp(join(tmpdir(), "forensics-audit-test-")));

/** Builds test/fixtures/audit/<program> with extra env (CGO_ENABLED, GOARCH, …) and go build flags. */
export async function buildFixture(program: "plain" | "notify" | "tzdata", options: { name: string; env?: Record<string, string>; flags?: string[] }): Promise<string> {
  const out = join(await dir(), options.name);
  const env = { ...makeGoEnv(), CGO_ENABLED: "0", GOOS: "linux", ...options.env };
  await runGoBuild([...(options.flags ?? []), `./${program}`], out, { go: await resolveGoBinary(), cwd: FIXTURES, env });
  return out;
}

export type ImageFile = { path: string; hostPath: string } | { path: string; symlink: string } | { path: string; text: string };

/** A FROM scratch image of exactly these files, with the given Dockerfile lines; returns its tag. */
export async function buildTestImage(name: string, files: ImageFile[], lines: string[]): Promise<string> {
  const tag = `forensics-audit-test/${name}:${process.pid}`;
  images.push(tag);
  const dockerfile = ["FROM scratch", "COPY rootfs/ /", ...lines, ""].join("\n");
  const progress = await docker.buildImage(Readable.from(await context(dockerfile, files)), { t: tag, rm: true, forcerm: true });
  const events = await new Promise<{ error?: string }[]>((resolve, reject) =>
    docker.modem.followProgress(progress, (err: Error | null, output: { error?: string }[]) => (err ? reject(err) : resolve(output))),
  );
  const failed = events.find((e) => e.error !== undefined);
  if (failed) throw new Error(`docker build ${tag}: ${failed.error}`);
  return tag;
}

async function context(dockerfile: string, files: ImageFile[]): Promise<Buffer[]> {
  const blocks = [...entry("Dockerfile", Buffer.from(dockerfile), 0o644)];
  for (const f of files) {
    if ("symlink" in f) blocks.push(header({ path: `rootfs${f.path}`, type: "SymbolicLink", linkpath: f.symlink, mode: 0o777, size: 0 }));
    else if ("text" in f) blocks.push(...entry(`rootfs${f.path}`, Buffer.from(f.text), 0o644));
    else blocks.push(...entry(`rootfs${f.path}`, await readFile(f.hostPath), 0o755));
  }
  // A tar archive ends with two zero blocks.
  return [...blocks, Buffer.alloc(1024)];
}

function entry(path: string, data: Buffer, mode: number): Buffer[] {
  return [header({ path, type: "File", mode, size: data.length }), data, Buffer.alloc((512 - (data.length % 512)) % 512)];
}

function header(fields: { path: string; type: "File" | "SymbolicLink"; mode: number; size: number; linkpath?: string }): Buffer {
  const block = Buffer.alloc(512);
  new Header({ ...fields, mtime: new Date(0), uid: 0, gid: 0 }).encode(block);
  return block;
}

/** Removes the images and binaries this file made. */
export async function removeAuditFixtures(): Promise<void> {
  await Promise.all(images.splice(0).map((tag) => docker.getImage(tag).remove({ force: true }).catch(() => undefined)));
  if (workDir !== null) await rm(await workDir, { recursive: true, force: true });
  workDir = null;
}
