import type { Finding, Variant } from "../../src/evidence/schemas.js";
import type { Claim } from "../../src/scenario/define.js";
import { compact } from "../shared/records.js";
import { judgeClaim } from "../tz-common/judge.js";
import type { CZone, TzObservation } from "../tz-common/observe.js";
import { showZone } from "../tz-common/render.js";

export const CGO_CACHE_CLAIMS = {
  T4: { id: "T4", statement: "With cgo, the C library caches TZ: after setenv without tzset, localtime keeps the stale zone" },
  "T4.go": { id: "T4.go", statement: "Go's time.Local is fixed at its first use: os.Setenv(\"TZ\") before it counts, after it does not" },
} satisfies Record<string, Claim>;

const same = (a: CZone | null | undefined, b: CZone | null | undefined) => !!a && !!b && a.abbrev === b.abbrev && a.offsetS === b.offsetS;
const show = (z: CZone | null | undefined) => (z ? `${z.abbrev}${z.offsetS >= 0 ? "+" : ""}${z.offsetS / 3600}` : "?");

export function judgeCgoCache(variant: Variant, obs: TzObservation[]): Finding[] {
  const out = [judgeClaim(CGO_CACHE_CLAIMS["T4.go"], variant, obs, judgeGo)];
  if (variant.probe === "cgo-glibc" || variant.probe === "cgo-musl") out.unshift(judgeClaim(CGO_CACHE_CLAIMS.T4, variant, obs, judgeLibc));
  return out;
}

function judgeLibc(_v: Variant, o: TzObservation) {
  const { initial, afterSetenv, afterTzset } = o.libcPhases;
  const evidence = compact([o.refs["libc:initial"], o.refs["libc:after-setenv"], o.refs["libc:after-tzset"]]);
  if (!initial || !afterSetenv || !afterTzset) return { verdict: "inconclusive" as const, summary: "the probe did not report all three libc phases", evidence };
  const staleR = same(afterSetenv.localtime_r, initial.localtime_r) && !same(afterTzset.localtime_r, initial.localtime_r);
  const staleL = same(afterSetenv.localtime, initial.localtime) && !same(afterTzset.localtime, initial.localtime);
  const summary =
    `${o.libc}: before setenv localtime_r=${show(initial.localtime_r)}; after setenv localtime_r=${show(afterSetenv.localtime_r)} localtime=${show(afterSetenv.localtime)}; after tzset localtime_r=${show(afterTzset.localtime_r)}` +
    (staleR && !staleL ? " — only localtime_r is stale: localtime re-reads TZ on every call, localtime_r does not" : "");
  return { verdict: staleR || staleL ? ("confirmed" as const) : ("refuted" as const), summary, evidence, details: { staleLocaltimeR: staleR, staleLocaltime: staleL } };
}

function judgeGo(v: Variant, o: TzObservation) {
  const evidence = compact([o.refs.start, o.refs.local, o.refs.localAfterSetenv]);
  const early = v.tzAt === "early";
  const firstFromEarly = early && o.local !== null && o.local.name === o.tzSeen;
  const unchanged = o.local !== null && o.localAfterSetenv !== null && o.local.name === o.localAfterSetenv.name && o.local.offsetS === o.localAfterSetenv.offsetS;
  const summary =
    `${early ? `TZ set by os.Setenv before the first use; ` : ""}time.Local at first use ${showZone(o.local)}, after os.Setenv("TZ") ${showZone(o.localAfterSetenv)}`;
  const holds = unchanged && (!early || firstFromEarly);
  return { verdict: holds ? ("confirmed" as const) : ("refuted" as const), summary, evidence };
}
