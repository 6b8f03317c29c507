import type { Finding, Variant, Verdict } from "../../src/evidence/schemas.js";
import type { Claim } from "../../src/scenario/define.js";
import { stopRefs, type StopTrial } from "./analysis.js";

export const STOP_CLAIMS = {
  S5: { id: "S5", statement: "docker stop waits its timeout, then SIGKILLs a Go server whose graceful Shutdown has not finished (seed §4.3)" },
} satisfies Record<string, Claim>;

/** How far the measured SIGTERM → SIGKILL interval may be from -t and still count as "waited its timeout" (engine and kernel latencies). */
export const TIMEOUT_TOLERANCE_MS = 500;

export type S5Class = "kill-at-timeout" | "graceful-before-timeout" | "ended-without-shutdown" | "contradicts" | "unknown";

/**
 * What each trial shows against the claim: a kill at the timeout while Shutdown ran, an end
 * on its own before it, an end at SIGTERM with no graceful path at all (Go's default
 * action: the program never subscribed with Notify; the claim says nothing of those), or
 * unknown — no SIGTERM seen, or a kill whose Shutdown no record can show.
 */
export function classifyAgainstS5(t: StopTrial): S5Class {
  if (t.sigtermUs === null) return "unknown";
  const timeoutMs = t.stopTimeoutS * 1000;
  if (t.outcome === "killed" && t.sigtermToSigkillMs !== null) {
    if (t.shutdownBegin === null) return "unknown";
    // A shell as PID 1 that kept SIGTERM to itself: the program never had a Shutdown to finish.
    if (t.pid1Shell && !t.shutdownBegin) return "unknown";
    return Math.abs(t.sigtermToSigkillMs - timeoutMs) <= TIMEOUT_TOLERANCE_MS && t.shutdownBegin ? "kill-at-timeout" : "contradicts";
  }
  if (t.outcome === "graceful") return t.shutdownMs !== null && t.shutdownMs <= timeoutMs + TIMEOUT_TOLERANCE_MS ? "graceful-before-timeout" : "contradicts";
  if (t.sigkillUs === null && t.shutdownBegin === false && t.sigtermTakenBy === "runtime-default") return "ended-without-shutdown";
  return t.timing === "harness" && t.shutdownEnd ? "graceful-before-timeout" : "unknown";
}

export function judgeS5(variant: Variant, trials: StopTrial[]): Finding {
  const base = { claim: "S5", statement: STOP_CLAIMS.S5.statement, variant };
  const rows = trials.map((t) => ({ t, c: classifyAgainstS5(t) }));
  const killed = rows.filter((r) => r.c === "kill-at-timeout");
  const graceful = rows.filter((r) => r.c === "graceful-before-timeout");
  const against = rows.filter((r) => r.c === "contradicts");
  const describe = (t: StopTrial) =>
    t.sigtermUs === null
      ? `-t ${t.stopTimeoutS}: never stopped (no SIGTERM seen), exit ${t.exitCode ?? "?"}`
      : `-t ${t.stopTimeoutS}: SIGTERM → ${t.sigkillUs === null ? "no SIGKILL" : `SIGKILL ${t.sigtermToSigkillMs} ms`}, shutdown ${describeShutdown(t)}, exit ${t.exitCode ?? "?"}, client ${t.client ? `${t.client.outcome}${t.client.status ? ` ${t.client.status}` : ""}${t.client.error ? ` (${t.client.error})` : ""}` : "?"}`;
  const server = trials.some((t) => t.userTarget) ? "the program" : "the Go server";
  const summary = `${variant.init === "none" ? `${server} as PID 1` : `under ${variant.init}`}: ${trials.map(describe).join("; ")}`;
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
  const tail = verdict === "inconclusive" ? `; ${inconclusiveReason(rows)}` : "";
  return { ...base, verdict, summary: summary + tail, evidence, measurements };
}

export const describeShutdown = (t: StopTrial): string =>
  t.shutdownBegin === null
    ? "unseen"
    : t.shutdownBegin
      ? t.shutdownEnd
        ? `took ${t.shutdownMs} ms`
        : "began, never ended"
      : t.sigtermTakenBy === "runtime-default"
        ? "never began (Go's default action on SIGTERM: no Notify)"
        : "never began";

/** Why no trial decided: what the records lacked, or what the trials never tried. */
function inconclusiveReason(rows: { t: StopTrial; c: S5Class }[]): string {
  const shell = rows.find((r) => r.c === "unknown" && r.t.pid1Shell && r.t.shutdownBegin === false);
  if (shell) return "PID 1 is a shell (a shell-form entrypoint) that did not pass SIGTERM on: the program never took it (no os/signal.process), and was SIGKILLed with the shell at the timeout; exec the program from the shell, or use the exec form";
  const unseen = rows.find((r) => r.c === "unknown" && r.t.unseen !== null);
  if (unseen) return unseen.t.unseen!;
  if (rows.length > 0 && rows.every((r) => r.c === "ended-without-shutdown")) {
    return "the program ended at SIGTERM through Go's default action (it never subscribed with signal.Notify): it had no graceful Shutdown for docker stop to wait for";
  }
  const notStarted = rows.find((r) => r.t.client?.outcome === "not-started");
  if (notStarted) return `no request was in flight: ${notStarted.t.client!.error ?? "the client did not start"}`;
  if (rows.some((r) => r.t.userTarget)) return "no trial had a -t shorter than the program's Shutdown needed (try --stop-timeouts 1 with a --path that answers slower)";
  return "no trial had a -t shorter than the Shutdown needed (try --stop-timeouts 1 with a longer --handler-ms)";
}
