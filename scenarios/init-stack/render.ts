import type { TrialEvidence, Variant } from "../../src/evidence/schemas.js";
import type { ScenarioRender } from "../../src/scenario/define.js";
import { analyseInitStackTrial, type InitStackTrial } from "./analysis.js";

/** The `measured` names of a trial in `run --json`: a contract, keep them exactly. */
export const measured = (t: InitStackTrial) => ({
  threads: t.threads.map((th) => ({ lwp: th.lwp, rsp: th.rsp, inStack: th.inStack })),
  init: t.init === null ? null : { rsp: t.init.rsp, mapping: t.init.mapping },
});

const line = (t: InitStackTrial): string => {
  if (t.inHandler === null) {
    const sizes = [...new Set((t.altStacks ?? []).map((a) => a.ssSize))].join("/");
    return `${t.observers.padEnd(7)} ${t.altStacks?.length ?? 0} sigaltstack installs (ss_size ${sizes || "?"}), init took SIGCHLD: ${t.initSigchld}, init in ${t.init?.syscall ?? "?"} on ${t.init?.mapping ?? "?"}`;
  }
  const handling = t.threads.find((th) => th.handling);
  return `${t.observers.padEnd(7)} ${t.inHandler ? `in ${t.handlerFrames[0] ?? "sighandler"}: rsp ${handling?.rsp ?? "?"} on ${handling?.inStack ?? "?"}; threads ${t.threads.map((th) => th.inStack).join(",")}` : `not in the handler (${t.problems[0] ?? "?"})`}; init rsp ${t.init?.rsp ?? "?"} on ${t.init?.mapping ?? "?"} in ${t.init?.syscall ?? "?"}`;
};

export const render: ScenarioRender = {
  trialLine: (trial: TrialEvidence) => line(analyseInitStackTrial(trial)),
  variantSummary: (_variant: Variant, trials: TrialEvidence[]) => trials.map((t) => `    ${line(analyseInitStackTrial(t))}`),
  trialJson(trial: TrialEvidence) {
    const t = analyseInitStackTrial(trial);
    return {
      measured: measured(t),
      programPid: t.programPid,
      pid1: t.pid1,
      inHandler: t.inHandler,
      handlerFrames: t.handlerFrames,
      init: t.init,
      programStack: t.programStack,
      programMapsInitBinary: t.programMapsInitBinary,
      altStacks: t.altStacks,
      initSigchld: t.initSigchld,
      programAliveAfter: t.programAliveAfter,
      problems: t.problems,
    };
  },
};
