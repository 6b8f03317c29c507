import type { KernelRecord } from "../parse/kernel-records.js";
import type { SignalResultName } from "../parse/kernel-records.js";

// What the kernel said about signals, for any scenario: the kernel observer's records are
// the kernel's own word on whether a signal was dropped, so no scenario has to infer it
// from a timeout.

type Generate = Extract<KernelRecord, { kind: "signal-generate" }>;

/** SI_USER: sent with kill(2), as the driver, `docker kill` and inits that forward do. */
export const SI_USER = 0;

/**
 * The kernel's signal_generate records of `sig` sent to `targetPid` with kill(2) (not the
 * program's own tgkill re-raises), in order, with their index in `records`.
 */
export function killsTo(records: readonly KernelRecord[], sig: number, targetPid: number): { index: number; record: Generate }[] {
  const out: { index: number; record: Generate }[] = [];
  records.forEach((r, index) => {
    if (r.kind === "signal-generate" && r.sig === sig && r.targetPid === targetPid && r.code === SI_USER) out.push({ index, record: r });
  });
  return out;
}

/** The fate of the first kill of `sig` to `targetPid`: delivered, ignored, already-pending, overflow, lose-info; null when unseen. */
export function firstKillFate(records: readonly KernelRecord[], sig: number, targetPid: number): { index: number; result: SignalResultName | null } | null {
  const first = killsTo(records, sig, targetPid)[0];
  return first ? { index: first.index, result: first.record.resultName } : null;
}
