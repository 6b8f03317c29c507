import type { Finding, Variant, Verdict } from "../../src/evidence/schemas.js";
import type { Claim } from "../../src/scenario/define.js";
import { compact } from "../shared/records.js";
import type { InitStackTrial } from "./analysis.js";

export const INIT_STACK_CLAIMS = {
  S6: { id: "S6", statement: "With tini/dumb-init injected, the init's signal handler overwrites the Go program's g0 stack frame (seed §4.4)" },
} satisfies Record<string, Claim>;

/**
 * The claim needs the init's signal handling to run on the Go program's stack. What the
 * records can show against it: the init is another process (its PID, its own maps without
 * the program's binary) and waits on its own [stack]; the Go thread in runtime.sighandler
 * runs on its gsignal stack (installed by its own sigaltstack); every Go thread's $rsp is
 * within one of its own stacks after the init took SIGCHLD; and the program runs on.
 */
export function judgeS6(variant: Variant, trials: InitStackTrial[]): Finding {
  const base = { claim: "S6", statement: INIT_STACK_CLAIMS.S6.statement, variant };
  const gdbTrials = trials.filter((t) => t.inHandler !== null);
  const read = gdbTrials.filter((t) => t.inHandler === true && t.threads.length > 0 && t.init !== null);
  const straceTrials = trials.filter((t) => t.altStacks !== null);
  const evidence = trials.flatMap((t) =>
    compact([t.refs.breakpoint, t.refs.sigchld, t.refs.initState, t.refs.initGdb, t.refs.programState, ...t.refs.threads, ...t.refs.altStacks.slice(0, 8), ...t.refs.initSigchld, t.refs.after]),
  );
  const strPart = straceTrials.map((t) => {
    const sizes = [...new Set(t.altStacks!.map((a) => a.ssSize))].join("/");
    return `strace ${t.trial}: ${t.altStacks!.length} sigaltstack installs by the program's threads (ss_size ${sizes || "?"}), ${variant.init} took SIGCHLD ${t.initSigchld === "sigtimedwait" ? "with rt_sigtimedwait (no handler ran)" : t.initSigchld === "handler" ? "in a signal handler" : t.initSigchld === "untraced" ? "out of strace's sight (strace follows the gate, the init's child)" : "without strace seeing it"}`;
  });
  if (read.length === 0) {
    const why = [...new Set(gdbTrials.flatMap((t) => t.problems))].join("; ") || (gdbTrials.length === 0 ? "no trial ran gdb (--observe gdb)" : "gdb read no threads");
    return { ...base, verdict: "inconclusive", summary: `no gdb reading inside runtime.sighandler: ${why}${strPart.length ? `; ${strPart.join("; ")}` : ""}`, evidence };
  }
  const parts: string[] = [];
  let against = 0;
  let forClaim = 0;
  for (const t of read) {
    const init = t.init!;
    const separate = t.pid1 !== null && t.programPid !== null && t.pid1 !== t.programPid;
    const ownStack = init.mapping !== null && /\[stack\]/.test(init.mapping);
    const handling = t.threads.find((th) => th.handling) ?? null;
    const lost = t.threads.filter((th) => th.inStack === "none");
    // The init's rsp inside one of the program's own Go stacks would be the claim's overwrite.
    const initOnGoStack = init.rsp !== null && t.threads.some((th) => th.rsp !== null && th.rsp === init.rsp);
    if (initOnGoStack || lost.length > 0) forClaim++;
    if (separate && ownStack && handling?.inStack === "gsignal" && lost.length === 0 && t.programAliveAfter !== false) against++;
    parts.push(
      `${t.trial}: ${variant.init} is PID ${t.pid1} (${init.comm ?? "?"}), the program PID ${t.programPid}; after kill -CHLD 1 the init waits in ${init.syscall ?? "?"} with $rsp ${init.rsp ?? "?"} in its own ${init.mapping ?? "unknown mapping"}` +
        `${init.rspMappedInProgram ? ` (that address is ${init.rspMappedInProgram} in the program's separate address space)` : " (not mapped at all in the program)"}` +
        `${init.frames ? `, frames ${init.frames.slice(0, 4).join(" ← ")}` : ""}; ` +
        `the program's thread in ${t.handlerFrames[0] ?? "runtime.sighandler"} (LWP ${handling?.lwp ?? "?"}) has $rsp ${handling?.rsp ?? "?"} on ${handling?.inStack ?? "?"}; ` +
        `threads: ${t.threads.map((th) => `${th.lwp}:${th.inStack}`).join(" ")}${lost.length ? ` — ${lost.length} outside every Go stack` : ""}; program ${t.programAliveAfter === false ? "died" : "ran on"} after the handler returned`,
    );
  }
  const verdict: Verdict = forClaim > 0 ? "confirmed" : against === read.length ? "refuted" : "inconclusive";
  return {
    ...base,
    verdict,
    summary: [...parts, ...strPart].join("; "),
    evidence,
    measurements: { gdbTrials: read.length, threadsOutsideGoStacks: read.reduce((n, t) => n + t.threads.filter((th) => th.inStack === "none").length, 0) },
  };
}
