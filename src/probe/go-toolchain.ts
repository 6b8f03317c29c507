// How forensics runs the go command: which binary, which toolchain, and an environment that
// makes a build a function of its inputs (no GOFLAGS, go.work or host GOARCH leaking in).

import { access, constants, rm } from "node:fs/promises";
import { InvalidArgumentError } from "commander";
import { execa } from "execa";
import { resolveTool } from "../capture/tools.js";
import { HarnessError } from "../errors.js";
import { onCleanup } from "../cleanup.js";
import { makeGoBuildDir } from "../runtime/run-dir.js";
import { describeGoFailure } from "./go-failure.js";

/** Where the official tarball installs Go; child processes often lack it on PATH. */
const DEFAULT_GO = "/usr/local/go/bin/go";

/** `go` on PATH, else /usr/local/go/bin/go. */
export async function resolveGoBinary(): Promise<string> {
  try {
    return await resolveTool("go");
  } catch {
    try {
      await access(DEFAULT_GO, constants.X_OK);
      return DEFAULT_GO;
    } catch {
      throw new HarnessError(
        "MISSING_TOOL",
        `go not found on PATH or at ${DEFAULT_GO}: install Go 1.21+ (/usr/local/go) or put it on PATH`,
      );
    }
  }
}

/** The oldest Go that builds go-probes/: its go.mod's `go` line (a unit test keeps them equal). */
export const MIN_GO = "1.21";

/**
 * Validates `run --go` while the flags are parsed, so a bad value costs no preflight and no
 * download: a release ("1.27.3", "go1.27.3", "1.27rc1"), at least MIN_GO. Returns it
 * without the "go" prefix. Commander turns the InvalidArgumentError into a usage error (64).
 */
export function parseGoVersionFlag(value: string): string {
  const m = value.trim().match(/^(?:go)?(\d+)\.(\d+)(?:\.(\d+)|(rc\d+))?$/);
  if (!m) throw new InvalidArgumentError(`expected a Go release such as 1.27.3 or go1.27.3, got "${value}"`);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  const [minMajor, minMinor] = MIN_GO.split(".").map(Number) as [number, number];
  const release = `${major}.${minor}${m[3] !== undefined ? `.${m[3]}` : (m[4] ?? "")}`;
  if (major < minMajor || (major === minMajor && minor < minMinor)) {
    throw new InvalidArgumentError(`Go ${release} is too old: forensics needs Go ≥ ${MIN_GO} to build its probes (go-probes/go.mod); name ${MIN_GO}.0 or later`);
  }
  // Since 1.21, "1.22" is a language version; the first release is 1.22.0, and GOTOOLCHAIN
  // takes release names only.
  if (m[3] === undefined && m[4] === undefined) {
    throw new InvalidArgumentError(`"${value}" is a language version, not a Go release: name a release such as ${major}.${minor}.0 (see https://go.dev/dl/)`);
  }
  return release;
}

/** "1.27.3" or "go1.27.3" → "go1.27.3", the GOTOOLCHAIN spelling; anything else is BAD_INPUT. */
export function normalizeToolchain(version: string): string {
  const m = version.trim().match(/^(?:go)?(\d+\.\d+(?:\.\d+|rc\d+)?)$/);
  if (!m) {
    throw new HarnessError("BAD_INPUT", `Go version "${version}" is not a release name: use one like 1.27.3 or go1.27.3 (see https://go.dev/dl/)`);
  }
  return `go${m[1]}`;
}

/**
 * The environment every go command forensics runs gets. GOTOOLCHAIN is only set when a
 * toolchain is named: otherwise the user's choice (local, auto, a pin) stands.
 */
export function makeGoEnv(toolchain?: string): Record<string, string> {
  return { GOFLAGS: "", GOWORK: "off", ...(toolchain === undefined ? {} : { GOTOOLCHAIN: toolchain }) };
}

/** GOARCH of the machine forensics runs on, in Go's spelling. */
export const hostGoArch = (): string => ({ x64: "amd64", ia32: "386" })[process.arch as string] ?? process.arch;

export interface GoCommandOptions {
  go: string;
  cwd: string;
  env: Record<string, string>;
  /** Receives each line go prints on stderr as it prints it ("go: downloading go1.27.3 …"). */
  onProgress?: (msg: string) => void;
  /** Kills the go command when it fires (doctor's per-check timeout). */
  cancelSignal?: AbortSignal;
}

/** `go env -json NAME…`; the first call with a new GOTOOLCHAIN downloads that toolchain. */
export async function readGoEnv(names: string[], options: GoCommandOptions): Promise<Record<string, string>> {
  const stdout = await runGo(["env", "-json", ...names], options, `go env (${describeToolchain(options.env)})`);
  return JSON.parse(stdout) as Record<string, string>;
}

/**
 * `go build -o out args…`; a failure is a GO_BUILD_FAILED naming the first error and its fix.
 * go removes its work dir (~30 MB of $GOTMPDIR/go-build…) only when it exits by itself; a
 * killed go leaves it. So go works in a dir of ours, removed whatever happens, and runs in
 * its own process group, so that an interrupt kills its compiler and linker too.
 */
export async function runGoBuild(args: string[], out: string, options: GoCommandOptions): Promise<void> {
  const tmp = await makeGoBuildDir();
  try {
    await runGo(
      ["build", "-o", out, ...args],
      { ...options, env: { ...options.env, GOTMPDIR: tmp } },
      `go build ${args.join(" ")} (in ${options.cwd}, ${describeToolchain(options.env)})`,
      { tmp },
    );
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function runGo(args: string[], options: GoCommandOptions, what: string, group?: { tmp: string }): Promise<string> {
  const { onProgress } = options;
  const child = execa(options.go, args, {
    cwd: options.cwd,
    env: options.env,
    reject: false,
    cancelSignal: options.cancelSignal,
    detached: group !== undefined,
    stderr: onProgress
      ? function* (line: unknown) {
          onProgress(String(line));
          yield line;
        }
      : "pipe",
  });
  const killGroup = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    } catch {
      // The group is gone already.
    }
  };
  const forget = group
    ? onCleanup(async () => {
        killGroup();
        await child;
        await rm(group.tmp, { recursive: true, force: true });
      })
    : () => {};
  if (group) options.cancelSignal?.addEventListener("abort", killGroup);
  const result = await child.finally(() => {
    forget();
    options.cancelSignal?.removeEventListener("abort", killGroup);
  });
  if (result.failed && result.code === "ENOENT") {
    throw new HarnessError("MISSING_TOOL", `cannot run ${options.go}: install Go 1.21+ (/usr/local/go) or put it on PATH`);
  }
  if (result.isCanceled) throw new HarnessError("GO_BUILD_FAILED", `${what} was cancelled before it finished`);
  if (result.failed) throw new HarnessError("GO_BUILD_FAILED", describeGoFailure(`${result.stderr}\n${result.stdout}`, what));
  return result.stdout;
}

const describeToolchain = (env: Record<string, string>): string => {
  const toolchain = env.GOTOOLCHAIN ?? process.env.GOTOOLCHAIN;
  return toolchain === undefined ? "GOTOOLCHAIN unset" : `GOTOOLCHAIN=${toolchain}`;
};
