// Runs the BUILT forensics CLI as a user would, and checks what a run leaves behind. Every
// run gets a sandbox: its own TMPDIR (so `${TMPDIR}/forensics` is the run's alone and must
// end up empty) and its own --out dir. Leftover checks are scoped to the CLI's PID, its run
// ids and the sandbox path, because other engineers' runs share this host.

import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import Docker from "dockerode";
import { execa, type ResultPromise } from "execa";
import { expect, onTestFinished } from "vitest";
import { Manifest } from "../../src/bundle/manifest.js";
import { findPackageRoot } from "../../src/probe/package-root.js";
import { LABELS } from "../../src/runtime/docker.js";

export const root = findPackageRoot();
export const CI = process.env.CI === "true";
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

const docker = new Docker();

/** Whether the Docker engine answers (within 3 s). */
export async function dockerReachable(): Promise<boolean> {
  const ping = docker.ping.bind(docker) as unknown as (opts: { abortSignal: AbortSignal }) => Promise<unknown>;
  return ping({ abortSignal: AbortSignal.timeout(3_000) }).then(
    () => true,
    () => false,
  );
}

export interface LeftoverScope {
  /** The CLI's PID: its processes carry FORENSICS_OWNER=<pid>, its containers forensics.owner=<pid>. */
  pid: number;
  sandbox: Sandbox;
  /** Look for containers too; the engine must then be reachable. */
  docker?: boolean;
}

interface Leftover {
  what: string;
  remove(): Promise<void>;
}

const readText = (path: string): Promise<string | null> => readFile(path, "utf8").catch(() => null);

async function collectLeftovers(scope: LeftoverScope): Promise<Leftover[]> {
  const found: Leftover[] = [];
  const runIds = (await readdir(scope.sandbox.out).catch((): string[] => [])).filter((n) => !n.startsWith("."));

  // Processes: labelled by the namespace runtime, or naming the sandbox in their argv
  // (strace -o <out>/…, driver -fifo <tmp>/…, nsrun -root <tmp>/…).
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const [environ, cmdline] = await Promise.all([readText(`/proc/${pid}/environ`), readText(`/proc/${pid}/cmdline`)]);
    const env = environ?.split("\0") ?? [];
    const argv = cmdline?.split("\0").filter(Boolean) ?? [];
    const why = env.includes(`FORENSICS_OWNER=${scope.pid}`)
      ? `FORENSICS_OWNER=${scope.pid}`
      : env.find((kv) => runIds.some((id) => kv === `FORENSICS_RUN=${id}`)) ?? (argv.some((a) => a.includes(scope.sandbox.dir)) ? "argv names the sandbox" : null);
    if (why === null) continue;
    found.push({
      what: `process ${pid} (${argv.join(" ").slice(0, 160)}) — ${why}`,
      remove: async () => {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone already
        }
      },
    });
  }

  // Containers labelled with the CLI's PID or one of its runs.
  if (scope.docker || (await dockerReachable())) {
    const filters = [`${LABELS.owner}=${scope.pid}`, ...runIds.map((id) => `${LABELS.run}=${id}`)];
    const seen = new Set<string>();
    for (const label of filters) {
      for (const c of await docker.listContainers({ all: true, filters: { label: [label] } })) {
        if (seen.has(c.Id)) continue;
        seen.add(c.Id);
        found.push({ what: `container ${c.Id.slice(0, 12)} (${c.State}, ${label})`, remove: () => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {}) });
      }
    }
  }

  // Run and trial dirs: the sandbox's TMPDIR must be empty; a default-TMPDIR run dir owned by the CLI counts too.
  const sandboxRuns = join(scope.sandbox.tmp, "forensics");
  for (const name of await readdir(sandboxRuns).catch((): string[] => [])) {
    const path = join(sandboxRuns, name);
    found.push({ what: `run dir ${path}`, remove: () => rm(path, { recursive: true, force: true }) });
  }
  const defaultRuns = join(tmpdir(), "forensics");
  for (const name of await readdir(defaultRuns).catch((): string[] => [])) {
    const owner = await readText(join(defaultRuns, name, "owner"));
    if (owner?.trim() !== String(scope.pid)) continue;
    const path = join(defaultRuns, name);
    found.push({ what: `run dir ${path} (owner ${scope.pid})`, remove: () => rm(path, { recursive: true, force: true }) });
  }

  // Half-built probes the CLI's go build left in the cache (.<name>.<pid>.<hex>.partial).
  const xdg = process.env.XDG_CACHE_HOME;
  const cache = join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), ".cache"), "forensics", "probes");
  for (const hash of await readdir(cache).catch((): string[] => [])) {
    for (const name of await readdir(join(cache, hash)).catch((): string[] => [])) {
      if (!name.endsWith(".partial") || !name.includes(`.${scope.pid}.`)) continue;
      const path = join(cache, hash, name);
      found.push({ what: `partial probe build ${path}`, remove: () => rm(path, { force: true }) });
    }
  }
  return found;
}

/**
 * What the CLI left behind, described; empty when clean. Whatever is found is removed
 * afterwards, so one failing test does not leave debris for the next.
 */
export async function findLeftovers(scope: LeftoverScope): Promise<string[]> {
  if (scope.docker) expect(await dockerReachable(), "the Docker engine answers (to look for leftover containers)").toBe(true);
  const found = await collectLeftovers(scope);
  for (const f of found) await f.remove();
  return found.map((f) => f.what);
}

/** Asserts the CLI left nothing behind (see findLeftovers). */
export async function expectNothingLeft(scope: LeftoverScope): Promise<void> {
  expect(await findLeftovers(scope)).toEqual([]);
}
