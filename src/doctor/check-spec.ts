import { once } from "node:events";
import type { Blocked, DoctorCheck } from "./report.js";

export interface CheckOutcome {
  ok: boolean;
  detail: string;
  fix?: string;
}

/** One host check: what it is, what it blocks, and how to run it for real. */
export interface CheckSpec {
  id: string;
  title: string;
  blocks: Blocked[];
  /** The shell command a user runs to see the same thing by hand. */
  command: string;
  timeoutMs: number;
  /** Must stop (kill what it started) when signal aborts. */
  run(signal: AbortSignal): Promise<CheckOutcome>;
}

/** Runs a check under its timeout; a hang or an unexpected error is a failed check, never a throw. */
export async function runCheck(spec: CheckSpec): Promise<DoctorCheck> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), spec.timeoutMs);
  const byHand = `run \`${spec.command}\` by hand to see why`;
  const timedOut = once(controller.signal, "abort").then(
    (): CheckOutcome => ({ ok: false, detail: `no answer within ${spec.timeoutMs / 1000} s`, fix: byHand }),
  );
  const running = spec.run(controller.signal);
  // A check that loses the race still settles later, usually by rejecting on the abort.
  running.catch(() => undefined);
  let outcome: CheckOutcome;
  try {
    outcome = await Promise.race([running, timedOut]);
  } catch (err) {
    outcome = { ok: false, detail: err instanceof Error ? err.message : String(err), fix: byHand };
  } finally {
    clearTimeout(timer);
    // Whatever the check started stops now, also when it lost the race against the timeout.
    controller.abort();
  }
  const { id, title, blocks } = spec;
  return { id, title, ok: outcome.ok, detail: outcome.detail, ...(outcome.fix !== undefined && !outcome.ok ? { fix: outcome.fix } : {}), blocks };
}
