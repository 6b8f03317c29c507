import type { Finding, Variant } from "../../src/evidence/schemas.js";
import type { Claim } from "../../src/scenario/define.js";
import { compact } from "../shared/records.js";
import { eventUs, judgeClaim, refsOf } from "../tz-common/judge.js";
import type { CZone, TzObservation } from "../tz-common/observe.js";

export const DOCKERFILE_ORDER_CLAIMS = {
  T7: { id: "T7", statement: "With TZ set and no zoneinfo (ENV TZ after COPY in an alpine+glibc image), the C library panics on the first localtime" },
} satisfies Record<string, Claim>;

export const judgeDockerfileOrder = (variant: Variant, obs: TzObservation[]): Finding[] => [judgeClaim(DOCKERFILE_ORDER_CLAIMS.T7, variant, obs, judgeT7)];

const show = (z: CZone | null | undefined) => (z ? `${JSON.stringify(z.abbrev)} ${z.offsetS >= 0 ? "+" : ""}${z.offsetS}s` : "nothing");

function judgeT7(v: Variant, o: TzObservation) {
  const libc = v.tzAt === "late" ? o.libcPhases.afterSetenv : o.libcPhases.initial;
  // After Go's first use of time.Local every zone lookup is the C library's (the probe's
  // own lstat of /etc/localtime comes before it).
  const libcMisses = o.tzAccesses.filter((a) => a.by !== "go" && (a.tsUs ?? 0) > (eventUs(o, "local") ?? Infinity));
  const crashed = o.failure !== null || (o.exitCode !== null && o.exitCode !== 0);
  const summary =
    `${o.libc ?? "no libc"}, TZ set ${v.tzAt === "image" ? "in the container's env" : v.tzAt === "early" ? "by the program before any use" : "by the program after the first localtime"}: ` +
    `localtime gave ${show(libc?.localtime)}, localtime_r ${show(libc?.localtime_r)}; the C library looked for ${[...new Set(libcMisses.map((a) => `${a.path} ${a.errno ?? "ok"}`))].join(", ") || "no zone file"}; ` +
    (crashed ? `the program did not finish: ${o.failure ?? `exit ${o.exitCode}`}` : "the program ran to its end (exit 0)");
  return { verdict: crashed ? ("confirmed" as const) : ("refuted" as const), summary, evidence: compact([o.refs["libc:initial"], o.refs["libc:after-setenv"], o.refs.exit, ...refsOf(o, libcMisses)]) };
}
