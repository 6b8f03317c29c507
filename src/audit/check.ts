// What `forensics audit` reports: one finding per check, with the evidence it read, the
// fix, and the scenario run that proves it. The JSON field names are a contract.

export type AuditStatus = "ok" | "warn" | "fail" | "unknown";

/** Topics in the order the table prints them. */
export const AUDIT_TOPICS = {
  pid1: "PID 1 and signals",
  binary: "Program binary",
  tz: "Time zone",
  locale: "Locale",
  config: "Container config",
  toolchain: "Go toolchain in the image (seed ch.1)",
} as const;

export type AuditTopic = keyof typeof AUDIT_TOPICS;

export interface AuditCheck {
  /** Stable, "<topic>.<name>": pid1.form, binary.notify, tz.zoneinfo, … */
  id: string;
  status: AuditStatus;
  /** What was read, and from where. */
  evidence: string;
  /** The exact change that repairs a warn or fail; null when there is nothing to do. */
  fix: string | null;
  /** The forensics command whose trials show it for real; null when no scenario does. */
  proveWith: string | null;
}

export type AuditTarget =
  | { kind: "image"; reference: string; id: string; platform: string; program: string | null }
  | { kind: "binary"; path: string };

export interface AuditReport {
  target: AuditTarget;
  checks: AuditCheck[];
}

export const topicOf = (check: AuditCheck): AuditTopic => check.id.slice(0, check.id.indexOf(".")) as AuditTopic;

export const ok = (id: string, evidence: string, proveWith: string | null = null): AuditCheck => ({ id, status: "ok", evidence, fix: null, proveWith });

export const finding = (id: string, status: AuditStatus, evidence: string, fix: string | null, proveWith: string | null = null): AuditCheck => ({
  id,
  status,
  evidence,
  fix,
  proveWith,
});

/** The shell spelling of a command line, quoting only what needs it. */
export function shellCommand(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(" ");
}
