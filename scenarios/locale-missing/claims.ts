import type { Finding, Variant } from "../../src/evidence/schemas.js";
import type { Claim } from "../../src/scenario/define.js";
import { compact } from "../shared/records.js";
import { judgeClaim, refsOf } from "../tz-common/judge.js";
import { LANG_VALUES } from "../tz-common/axes.js";
import type { TzObservation } from "../tz-common/observe.js";

export const LOCALE_CLAIMS = {
  L1: { id: "L1", statement: "Go's standard library opens /usr/share/i18n/charmaps/UTF-8.gz and depends on LANG" },
  L2: { id: "L2", statement: "LANG=C.UTF-8 without generated locales affects cgo programs (setlocale fails)" },
} satisfies Record<string, Claim>;

export function judgeLocale(variant: Variant, obs: TzObservation[]): Finding[] {
  const cgo = variant.probe === "cgo-glibc" || variant.probe === "cgo-musl";
  return [judgeClaim(LOCALE_CLAIMS.L1, variant, obs, judgeL1), ...(cgo ? [judgeClaim(LOCALE_CLAIMS.L2, variant, obs, judgeL2)] : [])];
}

const showAccess = (o: TzObservation) => o.localeAccesses.map((a) => `${a.syscall} ${a.path} ${a.errno ?? "ok"} [${a.by}] pid ${a.pid}`);

function judgeL1(_v: Variant, o: TzObservation) {
  if (o.libc !== null) {
    return { verdict: "inconclusive" as const, summary: `a cgo build: its locale accesses are ${o.libc}'s (L2); L1 is judged on the pure-Go probes`, evidence: compact([o.refs.start]), details: { accesses: showAccess(o) } };
  }
  const mine = o.localeAccesses;
  const charmap = mine.filter((a) => a.path.includes("/charmaps/"));
  const summary = `${mine.length === 0 ? "Go itself touched no locale, i18n or charmap path" : `Go touched ${mine.map((a) => `${a.path} ${a.errno ?? "ok"}`).join(", ")}`} with LANG=${LANG_VALUES[String(o.trial.variant.lang ?? "unset")] ?? "unset"}`;
  return { verdict: charmap.length > 0 ? ("confirmed" as const) : ("refuted" as const), summary, evidence: compact([o.refs.start, ...refsOf(o, mine)]), details: { accesses: showAccess(o) } };
}

function judgeL2(v: Variant, o: TzObservation) {
  const s = o.setlocale;
  const evidence = compact([o.refs.setlocale, ...refsOf(o, o.localeAccesses)]);
  if (!s) return { verdict: "inconclusive" as const, summary: "the probe did not report setlocale", evidence };
  // LC_ALL overrides LANG (POSIX); the axes name values, LANG_VALUES gives what was set.
  const lang = LANG_VALUES[String(v.lcAll ?? "unset")] ?? LANG_VALUES[String(v.lang ?? "unset")] ?? "unset";
  const wantsUtf8 = /utf-?8/i.test(String(lang));
  const affected = s.result === null || (wantsUtf8 && !/utf-?8/i.test(s.codeset));
  const misses = o.localeAccesses.filter((a) => a.errno !== null).map((a) => `${a.path} ${a.errno}`);
  const summary = `${o.libc}, LANG=${lang}: setlocale(LC_ALL, "") = ${s.result === null ? "NULL" : JSON.stringify(s.result)}, codeset ${s.codeset}; ${misses.length ? `missing: ${misses.join(", ")}` : "no locale file missing"}`;
  return { verdict: affected ? ("confirmed" as const) : ("refuted" as const), summary, evidence, details: { accesses: showAccess(o) } };
}
