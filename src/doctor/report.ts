// What `forensics doctor` found, and how it reads: the verdict and the table are pure
// functions of the checks, so both are tested without running anything.

import type { InitKind, RuntimeKind } from "../runtime/runtime.js";

/** What a failed check keeps from working: a runtime, an init, an attachment, a claim. */
export type Blocked =
  | `runtime:${RuntimeKind}`
  | `init:${InitKind}`
  | "attachment:strace"
  | "attachment:gdb"
  | "attachment:kernel"
  | `claim:${string}`
  | `goarch:${string}`;

export interface DoctorCheck {
  id: string;
  title: string;
  ok: boolean;
  /** What was found (versions, paths) or what went wrong. */
  detail: string;
  /** The exact command or step that repairs a failed check. */
  fix?: string;
  /** What cannot run while this check fails. */
  blocks: Blocked[];
}

export interface DoctorReport {
  /** Every check passed. */
  ok: boolean;
  /** Every check the default runtime depends on passed: `forensics run` works here. */
  defaultRuntimeReady: boolean;
  checks: DoctorCheck[];
}

export const DEFAULT_RUNTIME: RuntimeKind = "namespace";

export function judgeDoctor(checks: DoctorCheck[]): DoctorReport {
  return {
    ok: checks.every((c) => c.ok),
    defaultRuntimeReady: checks.every((c) => c.ok || !c.blocks.includes(`runtime:${DEFAULT_RUNTIME}`)),
    checks,
  };
}

/** The human report: one ✓/✗ row per check, then each failure's fix and what it blocks. */
export function formatDoctorReport(report: DoctorReport): string {
  const titleWidth = Math.max(...report.checks.map((c) => c.title.length));
  const rows = report.checks.map((c) => `${c.ok ? "✓" : "✗"} ${c.title.padEnd(titleWidth)}  ${c.detail}`);
  const blocksDefault = (c: DoctorCheck) => c.blocks.includes(`runtime:${DEFAULT_RUNTIME}`);
  // What stops the default runtime comes first: that is what keeps `forensics run` from working.
  const failed = report.checks.filter((c) => !c.ok).sort((a, b) => Number(blocksDefault(b)) - Number(blocksDefault(a)));
  const fixes = failed.flatMap((c) => [
    "",
    `✗ ${c.title}`,
    `    fix:    ${c.fix ?? "(no known fix; see the detail above)"}`,
    `    blocks: ${c.blocks.length > 0 ? c.blocks.join(", ") : "nothing"}`,
  ]);
  const summary = report.defaultRuntimeReady
    ? `The default runtime (${DEFAULT_RUNTIME}) is ready${report.ok ? "; everything else is too." : ", but some scenarios or variants are blocked:"}`
    : `The default runtime (${DEFAULT_RUNTIME}) cannot run here. Fix these first:`;
  return [...rows, "", summary, ...fixes].join("\n") + "\n";
}
