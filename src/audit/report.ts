// How an audit reads: a table grouped by topic with the fix and the proving command under
// each warn or fail; and the exit status. Pure.

import { AUDIT_TOPICS, topicOf, type AuditCheck, type AuditReport, type AuditStatus } from "./check.js";

/** Exit status of an audit that found at least one `fail` (documented in `audit --help`). */
export const AUDIT_FAIL_EXIT = 3;

const MARK: Record<AuditStatus, string> = { ok: "✓", warn: "!", fail: "✗", unknown: "?" };

export const auditExitCode = (report: AuditReport): number => (report.checks.some((c) => c.status === "fail") ? AUDIT_FAIL_EXIT : 0);

export function formatAuditReport(report: AuditReport): string {
  const t = report.target;
  const title =
    t.kind === "image"
      ? `forensics audit ${t.reference} (${t.id.replace(/^sha256:/, "").slice(0, 12)}, ${t.platform}, program ${t.program ?? "not found"})`
      : `forensics audit ${t.path} (binary checks only)`;
  const idWidth = Math.max(...report.checks.map((c) => c.id.length));
  const indent = " ".repeat(4 + idWidth + 2);
  const lines = [title];
  for (const [topic, heading] of Object.entries(AUDIT_TOPICS)) {
    const checks = report.checks.filter((c) => topicOf(c) === topic);
    if (checks.length === 0) continue;
    lines.push("", heading);
    for (const c of checks) lines.push(...formatCheck(c, idWidth, indent));
  }
  const count = (s: AuditStatus) => report.checks.filter((c) => c.status === s).length;
  lines.push("", `${count("ok")} ok, ${count("warn")} warn, ${count("fail")} fail, ${count("unknown")} unknown`);
  return `${lines.join("\n")}\n`;
}

function formatCheck(c: AuditCheck, idWidth: number, indent: string): string[] {
  const lines = [`  ${MARK[c.status]} ${c.id.padEnd(idWidth)}  ${c.evidence}`];
  if (c.status !== "ok" && c.fix !== null) lines.push(`${indent}fix:   ${c.fix}`);
  if (c.status !== "ok" && c.proveWith !== null) lines.push(`${indent}prove: ${c.proveWith}`);
  return lines;
}
