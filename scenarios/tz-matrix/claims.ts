import type { Finding, RecordRef, Variant } from "../../src/evidence/schemas.js";
import type { Claim } from "../../src/scenario/define.js";
import { compact } from "../shared/records.js";
import { before, eventUs, hours, judgeClaim, refsOf } from "../tz-common/judge.js";
import type { TzObservation } from "../tz-common/observe.js";
import { showZone } from "../tz-common/render.js";

export const TZ_MATRIX_CLAIMS = {
  T1: { id: "T1", statement: "Go reads $TZ, else /etc/localtime, else UTC; libc's tzset is not involved" },
  T2: { id: "T2", statement: "/etc/localtime is not seen by Go except on Alpine (musl)" },
} satisfies Record<string, Claim>;

export const judgeTzMatrix = (variant: Variant, obs: TzObservation[]): Finding[] => [
  judgeClaim(TZ_MATRIX_CLAIMS.T1, variant, obs, judgeT1),
  judgeClaim(TZ_MATRIX_CLAIMS.T2, variant, obs, judgeT2),
];

/** What Go's time package opened up to its first report of time.Local (initLocal runs there). */
function goOpensAtFirstUse(o: TzObservation) {
  return before(o.tzAccesses.filter((a) => a.op === "open" && a.by === "go"), eventUs(o, "local"));
}

/** Why a user's program says nothing about a claim on Go's time package; null when it can be judged. */
function programUnjudged(o: TzObservation, needsZone: boolean): { verdict: "inconclusive"; summary: string; evidence: RecordRef[] } | null {
  if (!o.userTarget) return null;
  const opened = o.tzAccesses.filter((a) => a.op === "open");
  const opens = opened.length ? opened.map((a) => `${a.path} ${a.errno ?? "ok"} [${a.by}]`).join(", ") : "no zone file";
  const evidence = compact([o.refs.local, o.refs.exit, ...refsOf(o, opened)]);
  if (!o.goProgram) return { verdict: "inconclusive", summary: `not a Go program: the claim is about Go's time package; it opened ${opens}`, evidence };
  if (o.local === null && (needsZone || opened.length === 0)) return { verdict: "inconclusive", summary: `${o.zoneUnseen ?? "the zone it uses is unseen"}; it opened ${opens}`, evidence };
  return null;
}

function judgeT1(_v: Variant, o: TzObservation) {
  const unjudged = programUnjudged(o, o.tzSeen === "");
  if (unjudged) return unjudged;
  const localUs = eventUs(o, "local");
  const goOpens = goOpensAtFirstUse(o);
  const libcEarly = before(o.tzAccesses.filter((a) => a.by === "libc"), localUs);
  const readLocaltime = goOpens.some((a) => a.path === "/etc/localtime");
  const tz = o.tzSeen;
  let rule: string;
  let follows: boolean;
  if (tz === null) {
    rule = "TZ unset: Go must read /etc/localtime and nothing else";
    follows = readLocaltime && goOpens.every((a) => a.path === "/etc/localtime");
  } else if (tz === "") {
    rule = "TZ empty: Go must read nothing and use UTC";
    follows = goOpens.length === 0 && o.local?.offsetS === 0;
  } else {
    rule = `TZ=${tz}: Go must not read /etc/localtime`;
    follows = !readLocaltime;
  }
  const slashes = goOpens.filter((a) => a.path.includes("//")).length;
  // Go takes TZ as a zone name or path only (time/zoneinfo_unix.go); what it cannot load
  // (a POSIX rule such as CST-8, a typo) becomes UTC without an error.
  const silent = tz !== null && tz !== "" && tz !== "UTC" && o.local?.name === "UTC" ? `; TZ=${tz} loaded no zone, so Local fell back to UTC silently` : "";
  const summary =
    `${rule}; it opened ${goOpens.length ? goOpens.map((a) => `${a.path} ${a.errno ?? "ok"}`).join(", ") : "no zone file"} and ${o.userTarget ? "gdb read" : "reported"} Local=${showZone(o.local)}${silent}` +
    `; libc opened ${libcEarly.length} zone file(s) before that` +
    (goOpens.length ? `; ${slashes} of Go's ${goOpens.length} open(s) had a double slash${slashes < goOpens.length ? ` (not: ${goOpens.filter((a) => !a.path.includes("//")).map((a) => a.path).join(", ")})` : ""}` : "");
  return {
    verdict: follows && libcEarly.length === 0 ? ("confirmed" as const) : ("refuted" as const),
    summary,
    evidence: compact([o.refs.start, o.refs.local, ...refsOf(o, [...goOpens, ...libcEarly])]),
    details: { goOpens: goOpens.map((a) => ({ path: a.path, errno: a.errno, flags: a.flags })), doubleSlash: slashes },
  };
}

/** Usable means Go could read a zone from it: a file, or a link that resolves to one. */
const usableLocaltime = (o: TzObservation): boolean => {
  const s = o.localtimeSeen;
  return s !== null && (s.type === "file" || (s.type === "symlink" && s.targetType === "file"));
};

function judgeT2(_v: Variant, o: TzObservation) {
  const unjudged = o.tzSeen === null ? programUnjudged(o, true) : null;
  if (unjudged) return unjudged;
  const seen = o.localtimeSeen;
  const what = seen ? (seen.error ? `absent (${String(seen.error)})` : `${String(seen.type)}${seen.link ? ` → ${String(seen.link)}` : ""}${seen.targetError ? ` (${String(seen.targetError)})` : ""}`) : "not described";
  if (o.tzSeen !== null || !usableLocaltime(o)) {
    return {
      verdict: "inconclusive" as const,
      summary: `does not test T2: ${o.tzSeen !== null ? `TZ is set (${JSON.stringify(o.tzSeen)}), so /etc/localtime is not asked` : `/etc/localtime is ${what}`}; Local=${showZone(o.local)}`,
      evidence: compact([o.refs.localtimeSeen, o.refs.local]),
    };
  }
  const read = goOpensAtFirstUse(o).filter((a) => a.path === "/etc/localtime" && a.errno === null);
  const sawIt = read.length > 0 && o.local?.name === "Local";
  const who = o.libc ?? "no libc (pure Go)";
  return {
    verdict: sawIt ? ("refuted" as const) : ("confirmed" as const),
    summary: sawIt
      ? `${o.userTarget ? "the program" : "Go"} (${who}) read /etc/localtime (${what}) with its own open (${read.map((a) => `${a.flags.join("|") || "no flags"}, by ${a.by}`).join("; ")}) and reports Local ${o.local!.abbrev} ${hours(o.local!.offsetS)}`
      : `Go (${who}) did not take its zone from /etc/localtime (${what}): Local=${showZone(o.local)}`,
    evidence: compact([o.refs.localtimeSeen, o.refs.local, ...refsOf(o, read)]),
  };
}
