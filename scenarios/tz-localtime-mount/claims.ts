import type { Finding, Variant } from "../../src/evidence/schemas.js";
import type { Claim } from "../../src/scenario/define.js";
import { compact } from "../shared/records.js";
import { judgeClaim, refsOf } from "../tz-common/judge.js";
import type { TzObservation } from "../tz-common/observe.js";
import { showZone } from "../tz-common/render.js";

export const LOCALTIME_MOUNT_CLAIMS = {
  T5: { id: "T5", statement: "A bind mount onto /etc/localtime from a missing source fails with ENOENT" },
} satisfies Record<string, Claim>;

export const judgeLocaltimeMount = (variant: Variant, obs: TzObservation[]): Finding[] => [judgeClaim(LOCALTIME_MOUNT_CLAIMS.T5, variant, obs, judgeT5)];

function describeSeen(o: TzObservation): string {
  const s = o.localtimeSeen;
  if (!s) return "not described";
  return s.error ? `absent (${String(s.error)})` : String(s.type);
}

function judgeT5(v: Variant, o: TzObservation) {
  const missing = v.localtime === "bind-missing";
  const mounts = o.tzAccesses.filter((a) => a.op === "mount");
  const goReads = o.tzAccesses.filter((a) => a.path === "/etc/localtime" && a.op === "open");
  const after = `the program then saw /etc/localtime as ${describeSeen(o)}, opened it ${goReads.map((a) => a.errno ?? "ok").join(", ") || "never"}, and reports Local=${showZone(o.local)}`;
  const evidence = compact([o.refs.mount, o.refs.localtimeSeen, o.refs.local, ...refsOf(o, [...mounts, ...goReads])]);
  if (v.runtime === "docker") {
    // The engine mounts before the program exists; what is left to observe is the result.
    const dir = o.localtimeSeen?.type === "directory";
    if (!missing) return { verdict: "inconclusive" as const, summary: `the bind source exists: this variant is the control; ${after}`, evidence };
    return {
      verdict: dir ? ("refuted" as const) : ("inconclusive" as const),
      summary: dir ? `docker did not fail: the engine created the missing source as a directory and mounted it; ${after}` : `the container started; ${after}`,
      evidence,
    };
  }
  const m = mounts[0];
  if (!m) return { verdict: "inconclusive" as const, summary: `strace saw no mount call (${o.mount ? `the probe says ${o.mount.error ?? "ok"}` : "no mount was attempted"}); ${after}`, evidence };
  const call = `mount(${m.source} → ${m.path}, ${m.flags.join("|") || "no flags"}) = ${m.errno ?? "0"}`;
  if (!missing) return { verdict: "inconclusive" as const, summary: `control (source present): ${call}; ${after}`, evidence };
  return { verdict: m.errno === "ENOENT" ? ("confirmed" as const) : ("refuted" as const), summary: `${call}; ${after}`, evidence };
}
