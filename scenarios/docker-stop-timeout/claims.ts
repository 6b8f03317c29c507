import type { Finding, Variant, Verdict } from "../../src/evidence/schemas.js";
import type { Claim } from "../../src/scenario/define.js";
import { stopRefs, type StopTrial } from "./analysis.js";

export const STOP_CLAIMS = {
  S5: { id: "S5", statement: "docker stop waits its timeout, then SIGKILLs a Go server whose graceful Shutdown has not finished (seed §4.3)" },
} satisfies Record<string, Claim>;

/** How far the measured SIGTERM → SIGKILL interval may be from -t and still count as "waited its timeout" (engine and kernel latencies). */
export const TIMEOUT_TOLERANCE_MS = 500;

/** What each trial shows against the claim: a kill at the timeout while Shutdown ran, or an end on its own before it. */
export function classifyAgainstS5(t: StopTrial): "kill-at-timeout" | "graceful-before-timeout" | "contradicts" | "unknown" {
  if (t.sigtermUs === null) return "unknown";
  const timeoutMs = t.stopTimeoutS * 1000;
  if (t.outcome === "killed" && t.sigtermToSigkillMs !== null) {
    return Math.abs(t.sigtermToSigkillMs - timeoutMs) <= TIMEOUT_TOLERANCE_MS && t.shutdownBegin ? "kill-at-timeout" : "contradicts";
  }
  if (t.outcome === "graceful") return t.shutdownMs !== null && t.shutdownMs <= timeoutMs + TIMEOUT_TOLERANCE_MS ? "graceful-before-timeout" : "contradicts";
  return t.timing === "harness" && t.shutdownEnd ? "graceful-before-timeout" : "unknown";
}

export function judgeS5(variant: Variant, trials: StopTrial[]): Finding {
  const base = { claim: "S5", statement: STOP_CLAIMS.S5.statement, variant };
  const rows = trials.map((t) => ({ t, c: classifyAgainstS5(t) }));
  const killed = rows.filter((r) => r.c === "kill-at-timeout");
  const graceful = rows.filter((r) => r.c === "graceful-before-timeout");
  const against = rows.filter((r) => r.c === "contradicts");
  const describe = (t: StopTrial) =>
    `-t ${t.stopTimeoutS}: SIGTERM → ${t.sigkillUs === null ? "no SIGKILL" : `SIGKILL ${t.sigtermToSigkillMs} ms`}, shutdown ${t.shutdownBegin ? (t.shutdownEnd ? `took ${t.shutdownMs} ms` : "began, never ended") : "never began"}, exit ${t.exitCode ?? "?"}, client ${t.client ? `${t.client.outcome}${t.client.status ? ` ${t.client.status}` : ""}${t.client.error ? ` (${t.client.error})` : ""}` : "?"}`;
  const summary = `${variant.init === "none" ? "the Go server as PID 1" : `under ${variant.init}`}: ${trials.map(describe).join("; ")}`;
  const evidence = trials.flatMap(stopRefs);
  const intervals = killed.map((r) => r.t.sigtermToSigkillMs!);
  const measurements = {
    sigtermToSigkillMsMin: intervals.length ? Math.min(...intervals) : null,
    sigtermToSigkillMsMax: intervals.length ? Math.max(...intervals) : null,
    killedTrials: killed.length,
    gracefulTrials: graceful.length,
  };
  let verdict: Verdict;
  if (against.length > 0) verdict = "refuted";
  else if (killed.length > 0) verdict = "confirmed";
  else verdict = "inconclusive";
  const tail = verdict === "inconclusive" ? "; no trial had a -t shorter than the Shutdown needed (try --stop-timeouts 1 with a longer --handler-ms)" : "";
  return { ...base, verdict, summary: summary + tail, evidence, measurements };
}
