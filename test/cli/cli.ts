// Runs the BUILT forensics CLI as a user would. Every run gets a sandbox: its own TMPDIR
// (so `${TMPDIR}/forensics` is the run's alone and must end up empty) and its own --out
// dir; test/support/leftovers.ts checks what a run left there and elsewhere.

import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { expect, onTestFinished } from "vitest";
import { Manifest } from "../../src/bundle/manifest.js";
import { findPackageRoot } from "../../src/probe/package-root.js";

export const root = findPackageRoot();
export const GO_BIN_DIR = "/usr/local/go/bin";
const BIN = join(root, "bin", "forensics.js");
const BUILT = join(root, "dist", "src", "cli", "main.js");

/** Builds dist/ once if it is missing (tsc still emits when files others edit do not typecheck). */
export async function ensureBuilt(): Promise<void> {
  if (!existsSync(BUILT)) await execa("npx", ["tsc", "-p", "tsconfig.json"], { cwd: root, reject: false });
  expect(existsSync(BUILT), `tsc emitted ${BUILT}`).toBe(true);
}

export interface Sandbox {
  dir: string;
  /** The CLI's TMPDIR: trial dirs land in `${tmp}/forensics/<run>/`. */
  tmp: string;
  /** Pass as --out. */
  out: string;
}

/** A fresh sandbox, removed when the current test finishes. */
export async function makeSandbox(): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), "forensics-cli-test-"));
  const sandbox = { dir, tmp: join(dir, "tmp"), out: join(dir, "out") };
  await mkdir(sandbox.tmp);
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return sandbox;
}

export interface CliResult {
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  pid: number;
  durationMs: number;
  timedOut: boolean;
}

export interface CliOptions {
  /** Merged over the test's environment; PATH defaults to Go's bin dir + the test's PATH. */
  env?: Record<string, string>;
  timeout?: number;
  sandbox?: Sandbox;
  /** Run the CLI through this argv prefix (e.g. unshare …); it must exec node in place. */
  wrap?: string[];
}

export interface RunningCli {
  child: ResultPromise;
  pid: number;
  /** stderr so far. */
  stderr(): string;
  done: Promise<CliResult>;
}

export function startCli(args: string[], options: CliOptions = {}): RunningCli {
  const env = {
    PATH: `${GO_BIN_DIR}:${process.env.PATH ?? ""}`,
    ...(options.sandbox ? { TMPDIR: options.sandbox.tmp } : {}),
    ...options.env,
  };
  const [file, ...prefix] = options.wrap ?? [process.execPath];
  const argv = options.wrap ? [...prefix, process.execPath, BIN, ...args] : [BIN, ...args];
  const started = Date.now();
  const child = execa(file!, argv, { cwd: root, env, reject: false, timeout: options.timeout ?? 60_000, stdin: "ignore" });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const pid = child.pid!;
  const done = child.then((r) => ({
    exitCode: r.exitCode,
    signal: r.signal,
    stdout: String(r.stdout ?? ""),
    stderr: String(r.stderr ?? ""),
    pid,
    durationMs: Date.now() - started,
    timedOut: r.timedOut,
  }));
  return { child, pid, stderr: () => stderr, done };
}

export const runCli = (args: string[], options: CliOptions = {}): Promise<CliResult> => startCli(args, options).done;

/** Progress lines a run prints on stderr before it fails: steps and finished trials. */
const PROGRESS = /^(· |\[\s*\d+\] )/;
const STACK_FRAME = /^\s+at .+(:\d+:\d+\)?|<anonymous>\)?)$/m;

/**
 * stderr reports the failure as ONE line "forensics: …", the last one, with no stack trace
 * and no "internal error". `progress: false` (usage errors, caught before any work): that
 * line is all of stderr; otherwise only progress lines may precede it. Returns the line.
 */
export function expectOneErrorLine(stderr: string, options: { progress: boolean }): string {
  const lines = stderr.split("\n").filter((l) => l.trim() !== "");
  const reports = lines.filter((l) => !PROGRESS.test(l));
  expect(reports, `stderr was:\n${stderr}`).toHaveLength(1);
  const line = reports[0]!;
  expect(line).toMatch(/^forensics: \S/);
  expect(lines.at(-1)).toBe(line);
  if (!options.progress) expect(lines).toEqual([line]);
  expect(stderr).not.toMatch(STACK_FRAME);
  expect(stderr).not.toMatch(/internal error/i);
  return line;
}

export interface BundleOnDisk {
  dir: string;
  manifest: Manifest;
}

/** Every bundle dir under out (a dir without a valid manifest.json fails the test). */
export async function bundlesIn(out: string): Promise<BundleOnDisk[]> {
  const names = await readdir(out).catch((): string[] => []);
  const bundles: BundleOnDisk[] = [];
  for (const name of names) {
    const dir = join(out, name);
    const text = await readFile(join(dir, "manifest.json"), "utf8").catch(() => null);
    expect(text, `${dir} has a manifest.json`).not.toBeNull();
    bundles.push({ dir, manifest: Manifest.parse(JSON.parse(text!)) });
  }
  return bundles;
}

/** No bundle passes for complete: each one created is `partial` with a reason. Returns them. */
export async function expectNoCompleteBundle(out: string): Promise<BundleOnDisk[]> {
  const bundles = await bundlesIn(out);
  for (const b of bundles) {
    expect(b.manifest.status, b.dir).toBe("partial");
    expect(b.manifest.reason, b.dir).toMatch(/\S/);
  }
  return bundles;
}
