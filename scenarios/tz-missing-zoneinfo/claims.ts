import type { Finding, Variant } from "../../src/evidence/schemas.js";
import type { Claim } from "../../src/scenario/define.js";
import { compact } from "../shared/records.js";
import { judgeClaim, refsOf } from "../tz-common/judge.js";
import type { TzObservation } from "../tz-common/observe.js";
import { showZone } from "../tz-common/render.js";

export const MISSING_ZONEINFO_CLAIMS = {
  T3: { id: "T3", statement: "In an image without zoneinfo LoadLocation fails, and TZ=… silently gives UTC" },
  "T3.fix": { id: "T3.fix", statement: "This variant's fix (time/tzdata, ZONEINFO=zoneinfo.zip, copied zoneinfo) repairs LoadLocation and, with TZ set, time.Local" },
} satisfies Record<string, Claim>;

const ZONE = "Asia/Shanghai";

/** Which fix a variant carries, from its axes: none means the broken image the claim is about. */
export function fixOf(v: Variant): string | null {
  const fixes = [v.probe === "go-tzdata" ? "import _ \"time/tzdata\"" : null, v.zoneinfo === "zip" ? "ZONEINFO=/zoneinfo.zip" : null, v.zoneinfo === "some" || v.zoneinfo === "all" ? `zoneinfo copied (${v.zoneinfo})` : null];
  const named = fixes.filter((f): f is string => f !== null);
  return named.length ? named.join(" + ") : null;
}

export function judgeMissingZoneinfo(variant: Variant, obs: TzObservation[]): Finding[] {
  const fix = fixOf(variant);
  return fix === null ? [judgeClaim(MISSING_ZONEINFO_CLAIMS.T3, variant, obs, judgeBroken)] : [judgeClaim(MISSING_ZONEINFO_CLAIMS["T3.fix"], variant, obs, (_v, o) => judgeFix(fix, o))];
}

function loadOf(o: TzObservation) {
  return o.loads[ZONE];
}

function judgeBroken(_v: Variant, o: TzObservation) {
  const load = loadOf(o);
  const misses = o.tzAccesses.filter((a) => a.errno === "ENOENT" && a.by === "go");
  const sources = [...new Set(misses.map((a) => a.path.replace(/\/*Asia\/Shanghai$|\/*Shanghai$/, "")))];
  const loadFailed = load !== undefined && "error" in load;
  const tzSet = o.tzSeen !== null && o.tzSeen !== "";
  const silentUtc = tzSet ? o.local?.offsetS === 0 && o.local.name === "UTC" : null;
  const summary =
    `LoadLocation(${ZONE}) ${load === undefined ? "was not asked" : "error" in load ? `failed: ${load.error}` : `worked (${load.name})`}` +
    `; Go looked in ${sources.length ? sources.join(", ") : "nothing"} (ENOENT)` +
    (tzSet ? `; with TZ=${o.tzSeen} time.Local is ${showZone(o.local)}${silentUtc ? ", with no error anywhere" : ""}` : `; TZ unset: time.Local is ${showZone(o.local)}`);
  const confirmed = loadFailed && (silentUtc ?? true);
  return { verdict: confirmed ? ("confirmed" as const) : ("refuted" as const), summary, evidence: compact([o.refs.local, ...refsOf(o, misses)]), details: { sources } };
}

function judgeFix(fix: string, o: TzObservation) {
  const load = loadOf(o);
  const loadOk = load !== undefined && !("error" in load);
  const tzSet = o.tzSeen !== null && o.tzSeen !== "";
  const localOk = tzSet ? o.local?.name === o.tzSeen && o.local.offsetS !== 0 : null;
  const opened = o.tzAccesses.filter((a) => a.errno === null && a.op === "open");
  const summary =
    `with ${fix}: LoadLocation(${ZONE}) ${loadOk ? "works" : `fails (${load && "error" in load ? load.error : "not asked"})`}` +
    (tzSet ? `; time.Local with TZ=${o.tzSeen} is ${showZone(o.local)}` : `; TZ unset: time.Local is ${showZone(o.local)} (no fix gives a zone when TZ is unset and /etc/localtime is absent)`) +
    `; read from ${opened.length ? [...new Set(opened.map((a) => a.path))].join(", ") : "no file (the embedded copy)"}`;
  const repaired = loadOk && (localOk ?? true);
  return { verdict: repaired ? ("confirmed" as const) : ("refuted" as const), summary, evidence: compact([o.refs.local, ...refsOf(o, opened)]), details: { fix, loadLocation: loadOk, local: localOk } };
}
