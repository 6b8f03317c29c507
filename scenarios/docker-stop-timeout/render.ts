import type { TrialEvidence, Variant } from "../../src/evidence/schemas.js";
import type { ScenarioRender } from "../../src/scenario/define.js";
import { analyseStopTrial, type StopTrial } from "./analysis.js";
import { classifyAgainstS5, describeShutdown } from "./claims.js";

/** The `measured` names of a trial in `run --json`: a contract, keep them exactly. */
export const measured = (t: StopTrial): Record<string, number | null> => ({
  sigtermToSigkillMs: t.sigtermToSigkillMs,
  stopTimeoutS: t.stopTimeoutS,
  shutdownMs: t.shutdownMs,
  shutdownNeededMs: t.shutdownNeededMs,
  exitCode: t.exitCode,
});

const line = (t: StopTrial) =>
  `-t ${t.stopTimeoutS} ${t.handlerMs === null ? `GET ${t.path}` : `handler ${t.handlerMs} ms`}: ${t.outcome.padEnd(8)} SIGTERM→SIGKILL ${t.sigtermToSigkillMs === null ? "none" : `${t.sigtermToSigkillMs} ms`}, shutdown ${describeShutdown(t)}, exit ${t.exitCode ?? "?"}, client ${t.client?.outcome ?? "?"}${t.client?.status ? ` ${t.client.status}` : ""}`;

export const render: ScenarioRender = {
  trialLine: (trial: TrialEvidence) => line(analyseStopTrial(trial)),
  variantSummary: (_variant: Variant, trials: TrialEvidence[]) => {
    const rows = trials.map(analyseStopTrial);
    const shell = rows.some((t) => t.pid1Shell) ? ["  PID 1 is a shell: the image's entrypoint is in shell form; docker stop's SIGTERM reaches the shell, which passes it on only if it exec'd the program"] : [];
    return [...shell, ...rows.map((t) => `    ${line(t)} [${classifyAgainstS5(t)}]`)];
  },
  trialJson(trial: TrialEvidence) {
    const t = analyseStopTrial(trial);
    return {
      stopTimeoutS: t.stopTimeoutS,
      handlerMs: t.handlerMs,
      measured: measured(t),
      outcome: t.outcome,
      timing: t.timing,
      path: t.path,
      shutdownBegin: t.shutdownBegin,
      shutdownEnd: t.shutdownEnd,
      shutdownSource: t.shutdownSource,
      sigtermTakenBy: t.sigtermTakenBy,
      unseen: t.unseen,
      pid1Shell: t.pid1Shell,
      sigtermDeliveredTo: t.sigtermDeliveredTo,
      sigkillDeliveredTo: t.sigkillDeliveredTo,
      client: t.client,
      s5: classifyAgainstS5(t),
    };
  },
};
