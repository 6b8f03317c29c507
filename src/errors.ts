// The closed set of harness faults. Anything a trial *observes* (a probe exiting 2, a
// SIGKILL) is evidence, never one of these; these are reasons the harness itself cannot
// do its job. Each has a stable code, an exit status, and a message that names the fix.

export type ErrorCode =
  | "USAGE"
  | "UNKNOWN_SCENARIO"
  | "MISSING_TOOL"
  | "DOCKER_UNREACHABLE"
  | "PTRACE_DENIED"
  | "NAMESPACE_DENIED"
  | "GO_BUILD_FAILED"
  | "TRIAL_FAILED"
  | "BAD_INPUT"
  | "BAD_BUNDLE"
  | "OUTPUT_FAILED"
  | "INTERRUPTED";

const EXIT_CODES: Record<ErrorCode, number> = {
  USAGE: 64,
  UNKNOWN_SCENARIO: 65,
  BAD_INPUT: 66,
  BAD_BUNDLE: 67,
  MISSING_TOOL: 69,
  DOCKER_UNREACHABLE: 70,
  PTRACE_DENIED: 71,
  NAMESPACE_DENIED: 72,
  GO_BUILD_FAILED: 73,
  TRIAL_FAILED: 74,
  OUTPUT_FAILED: 75,
  INTERRUPTED: 130,
};

export class HarnessError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HarnessError";
    this.code = code;
    this.exitCode = EXIT_CODES[code];
  }
}

export const isHarnessError = (e: unknown): e is HarnessError => e instanceof HarnessError;

// Faults of the file system the harness writes to (--out, its temp dirs): the host's, not a
// bug of ours, so they end the command with one line rather than a stack.
const WRITE_FAULTS: Record<string, string> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOTDIR: "a component of the path is not a directory",
  EISDIR: "is a directory",
  EIO: "input/output error",
  EFBIG: "file too large",
};

/**
 * An OUTPUT_FAILED for a failed write, naming the path, the cause and `fix`; a HarnessError
 * as it is; null for anything else. `path` overrides the one the errno names (the bundle
 * file rather than its temp name).
 */
export function toOutputFault(err: unknown, options: { path?: string; fix?: string } = {}): HarnessError | null {
  if (isHarnessError(err)) return err;
  const e = err as NodeJS.ErrnoException | null;
  const cause = typeof e?.code === "string" ? WRITE_FAULTS[e.code] : undefined;
  if (cause === undefined) return null;
  // A write(2) through an open handle carries no path; the callers that know it pass it.
  // Any other pathless errno (kill's EPERM) is no file-system fault.
  const target = options.path ?? e?.path ?? (e?.syscall === "write" ? "the output (its path went unreported)" : undefined);
  if (target === undefined) return null;
  return new HarnessError("OUTPUT_FAILED", `cannot write ${target}: ${cause} (${e!.code})${options.fix ? `: ${options.fix}` : ""}`, { cause: err });
}
