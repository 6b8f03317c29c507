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
