// How forensics runs the go command: which binary, which toolchain, and an environment that
// makes a build a function of its inputs (no GOFLAGS, go.work or host GOARCH leaking in).

import { access, constants } from "node:fs/promises";
import { execa } from "execa";
import { resolveTool } from "../capture/tools.js";
import { HarnessError } from "../errors.js";
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

/** `go build -o out args…`; a failure is a GO_BUILD_FAILED naming the first error and its fix. */
export async function runGoBuild(args: string[], out: string, options: GoCommandOptions): Promise<void> {
  await runGo(["build", "-o", out, ...args], options, `go build ${args.join(" ")} (in ${options.cwd}, ${describeToolchain(options.env)})`);
}

async function runGo(args: string[], options: GoCommandOptions, what: string): Promise<string> {
  const { onProgress } = options;
  const result = await execa(options.go, args, {
    cwd: options.cwd,
    env: options.env,
    reject: false,
    cancelSignal: options.cancelSignal,
    stderr: onProgress
      ? function* (line: unknown) {
          onProgress(String(line));
          yield line;
        }
      : "pipe",
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
