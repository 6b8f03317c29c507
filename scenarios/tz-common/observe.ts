import { extractFileAccesses, isLocalePath, isTimeZonePath, type FileAccess } from "../../src/evidence/file-access.js";
import type { RecordRef, TrialEvidence } from "../../src/evidence/schemas.js";
import type { GdbRecord } from "../../src/parse/gdb-records.js";
import type { ProbeEvent } from "../../src/parse/records.js";
import { describeGdbRecord } from "../../src/capture/gdb.js";
import { TZ_VALUES } from "./axes.js";
import { LOCAL_LOC, LOCAL_ZONE } from "./zone-gdb.js";

// One tz trial read into what its process reported and what it opened: the row of every
// time-zone and locale matrix. Pure: a TrialEvidence in, an observation out.

export interface Zone {
  name: string;
  abbrev: string;
  offsetS: number;
}
export interface CZone {
  abbrev: string;
  offsetS: number;
}
export interface LibcPhase {
  localtime_r: CZone | null;
  localtime: CZone | null;
}

export interface TzObservation {
  trial: TrialEvidence;
  /** The probe printed its start line: it ran. False means it could not start (loader error, crash). */
  started: boolean;
  /** Why it did not start or finish, from its stderr (the loader's message) and exit status. */
  failure: string | null;
  exitCode: number | null;
  /** TZ as the probe saw it at start (after -tz-early). */
  tzSeen: string | null;
  libc: string | null;
  /** time.Local at its first use, and after os.Setenv("TZ") (when the trial set it late). */
  local: Zone | null;
  localAfterSetenv: Zone | null;
  loads: Record<string, { name: string; abbrev: string; offsetS: number } | { error: string }>;
  libcPhases: { initial: LibcPhase | null; afterSetenv: LibcPhase | null; afterTzset: LibcPhase | null };
  setlocale: { result: string | null; codeset: string } | null;
  mount: { src: string; dst: string; error: string | null } | null;
  /** What /etc/localtime was, as the probe saw it (type, link, target type or error). */
  localtimeSeen: Record<string, unknown> | null;
  tzAccesses: FileAccess[];
  localeAccesses: FileAccess[];
  refs: Record<string, RecordRef>;
  /** A user's program (--binary, --image): no reports of its own; its zone comes from gdb, its opens from strace. */
  userTarget: boolean;
  /** False for a program that is not Go (its build info says so). */
  goProgram: boolean;
  /** Why `local` is unknown for a user's program (no gdb trial, no DWARF, time.Local never used); null when read. */
  zoneUnseen: string | null;
}

export function observeTrial(trial: TrialEvidence): TzObservation {
  const target = trial.records.runtime.find((r): r is ProbeEvent => r.kind === "probe" && r.ev === "container")?.fields.target as { kind?: string } | undefined;
  if (target?.kind !== undefined && target.kind !== "probe") return observeProgram(trial);
  const events = trial.records.probe.filter((r): r is ProbeEvent => r.kind === "probe");
  const runtime = trial.records.runtime.filter((r): r is ProbeEvent => r.kind === "probe");
  const refs: Record<string, RecordRef> = {};
  const find = (ev: string, pred: (f: Record<string, unknown>) => boolean = () => true, key = ev) => {
    const i = trial.records.probe.findIndex((r) => r.kind === "probe" && r.ev === ev && pred(r.fields));
    if (i < 0) return null;
    const e = trial.records.probe[i] as ProbeEvent;
    refs[key] = { trial: trial.id, source: "probe", index: i, text: `${ev} ${JSON.stringify(e.fields)}` };
    return e.fields;
  };
  const start = find("start");
  const localFirst = find("local", (f) => f.phase === "first-use", "local");
  const localLate = find("local", (f) => f.phase === "after-setenv", "localAfterSetenv");
  const libcPhase = (phase: string): LibcPhase | null => {
    const f = find("libc", (x) => x.phase === phase, `libc:${phase}`);
    return f ? { localtime_r: (f.localtime_r as CZone | null) ?? null, localtime: (f.localtime as CZone | null) ?? null } : null;
  };
  const loads: TzObservation["loads"] = {};
  for (const e of events.filter((e) => e.ev === "load")) {
    const f = e.fields;
    loads[String(f.zone)] = f.error ? { error: String(f.error) } : { name: String(f.name), abbrev: String(f.abbrev), offsetS: Number(f.offsetS) };
  }
  const setlocale = find("setlocale");
  const mount = find("mount");
  const exit = runtime.find((e) => e.ev === "exit");
  const exitIndex = trial.records.runtime.findIndex((r) => r.kind === "probe" && r.ev === "exit");
  if (exitIndex >= 0) refs.exit = { trial: trial.id, source: "runtime", index: exitIndex, text: `exit ${JSON.stringify(exit?.fields)}` };
  const stderr = runtime.find((e) => e.ev === "stderr");
  const exitCode = typeof exit?.fields.code === "number" ? exit.fields.code : null;
  const finished = events.some((e) => e.ev === "exit");
  const strace = trial.records.strace ?? [];
  // The probe's own look at /etc/localtime (-stat: lstat, readlink, stat) is the harness
  // asking, not the program's zone lookup: it ends when the probe reports it.
  const pathEvent = events.find((e) => e.ev === "path" && e.fields.path === "/etc/localtime");
  const ownLookUp = pathEvent ? pathEvent.tsUs : null;
  // A probe that never started cannot say; its build decides (the cgo flavours carry a libc).
  const hasLibc = start ? start.libc !== null : String(trial.variant.probe ?? "go").startsWith("cgo");
  return {
    trial,
    started: start !== null,
    failure: finished ? null : [stderr ? String(stderr.fields.text).trim().split("\n")[0] : null, `exit ${exitCode ?? "?"}${exit?.fields.signal ? ` (${String(exit.fields.signal)})` : ""}`].filter(Boolean).join("; "),
    exitCode,
    tzSeen: start ? ((start.tz as string | null) ?? null) : null,
    libc: start ? ((start.libc as string | null) ?? null) : null,
    local: localFirst ? zone(localFirst) : null,
    localAfterSetenv: localLate ? zone(localLate) : null,
    loads,
    libcPhases: { initial: libcPhase("initial"), afterSetenv: libcPhase("after-setenv"), afterTzset: libcPhase("after-tzset") },
    setlocale: setlocale ? { result: (setlocale.result as string | null) ?? null, codeset: String(setlocale.codeset) } : null,
    mount: mount ? { src: String(mount.src), dst: String(mount.dst), error: (mount.error as string | null) ?? null } : null,
    localtimeSeen: find("path", (f) => f.path === "/etc/localtime", "localtimeSeen"),
    tzAccesses: extractFileAccesses(strace, isTimeZonePath, hasLibc).filter((a) => !(ownLookUp !== null && a.op !== "open" && a.op !== "mount" && a.path === "/etc/localtime" && (a.tsUs ?? 0) <= ownLookUp)),
    localeAccesses: extractFileAccesses(strace, isLocalePath, hasLibc),
    refs,
    userTarget: false,
    goProgram: true,
    zoneUnseen: null,
  };
}

/**
 * A user's program: the TZ it was given (the hook's note), what it opened (strace; Go's
 * opens told from a C library's by O_CLOEXEC), and the zone gdb read from time.localLoc.
 */
function observeProgram(trial: TrialEvidence): TzObservation {
  const runtime = trial.records.runtime;
  const refs: Record<string, RecordRef> = {};
  const note = (ev: string) => {
    const index = runtime.findIndex((r) => r.kind === "probe" && r.ev === ev);
    return index < 0 ? null : { index, fields: (runtime[index] as ProbeEvent).fields };
  };
  const exit = note("exit");
  if (exit) refs.exit = { trial: trial.id, source: "runtime", index: exit.index, text: `exit ${JSON.stringify(exit.fields)}` };
  const env = note("tz-env");
  const stderr = note("stderr");
  const exitCode = typeof exit?.fields.code === "number" ? exit.fields.code : null;
  // The gate exits 126/127 when it cannot exec the program (its message is on stderr).
  const started = exitCode !== 126 && exitCode !== 127;
  const strace = trial.records.strace;
  const tzAccesses = strace ? extractFileAccesses(strace, isTimeZonePath, true) : [];
  const localtimeOpen = tzAccesses.find((a) => a.op === "open" && a.by === "go" && a.path === "/etc/localtime");
  if (localtimeOpen) refs.localtimeSeen = accessRef({ trial } as TzObservation, localtimeOpen);
  const zone = readLocalLoc(trial);
  if (zone.ref) refs.local = zone.ref;
  return {
    trial,
    started,
    failure: started ? null : [stderr ? String(stderr.fields.text).trim().split("\n")[0] : null, `exit ${exitCode ?? "?"}`].filter(Boolean).join("; "),
    exitCode,
    tzSeen: typeof env?.fields.TZ === "string" ? env.fields.TZ : null,
    libc: null,
    local: zone.local,
    localAfterSetenv: null,
    loads: {},
    libcPhases: { initial: null, afterSetenv: null, afterTzset: null },
    setlocale: null,
    mount: null,
    // What Go's own open of /etc/localtime found: the program's view, not a description of the image.
    localtimeSeen: localtimeOpen ? (localtimeOpen.errno === null ? { type: "file" } : { error: localtimeOpen.errno }) : null,
    tzAccesses,
    localeAccesses: strace ? extractFileAccesses(strace, isLocalePath, true) : [],
    refs,
    userTarget: true,
    goProgram: trial.variant.go !== "not-go",
    zoneUnseen: zone.unseen,
  };
}

/** The zone in gdb's print of time.localLoc and of its cached zone; or why there is none. */
function readLocalLoc(trial: TrialEvidence): { local: Zone | null; unseen: string | null; ref: RecordRef | null } {
  const gdb = (trial.records as Record<string, unknown>).gdb as GdbRecord[] | undefined;
  if (!gdb) return { local: null, unseen: "no gdb in this trial", ref: null };
  const answer = (expr: string): { index: number; record: GdbRecord } | null => {
    const at = gdb.findIndex((r) => r.kind === "command" && r.command === `p ${expr}`);
    return at < 0 || gdb[at + 1] === undefined ? null : { index: at + 1, record: gdb[at + 1]! };
  };
  const loc = answer(LOCAL_LOC);
  if (!loc) {
    const problem = trial.records.runtime.find((r): r is ProbeEvent => r.kind === "probe" && r.ev === "zone-read" && typeof r.fields.problem === "string");
    return { local: null, unseen: problem ? `gdb could not read the zone: ${String(problem.fields.problem)}` : "gdb read nothing: the program ended before gdb could stop it", ref: null };
  }
  const ref = { trial: trial.id, source: "gdb" as const, index: loc.index, text: describeGdbRecord(loc.record) };
  if (loc.record.kind !== "value") return { local: null, unseen: `gdb could not read ${LOCAL_LOC} (no DWARF: a stripped binary, or not Go): ${describeGdbRecord(loc.record)}`, ref };
  const v = loc.record.value as Record<string, unknown>;
  const name = goString(v.name);
  const zones = Number((v.zone as Record<string, unknown> | undefined)?.len ?? 0);
  if (name === "" && zones === 0) return { local: null, unseen: `${LOCAL_LOC} was still empty when gdb read it: the program had not used time.Local`, ref };
  const cached = answer(LOCAL_ZONE);
  const z = cached?.record.kind === "value" ? (cached.record.value as Record<string, unknown>) : null;
  // initLocal's fallback is a Location named UTC without zones: offset 0.
  const local = z ? { name, abbrev: goString(z.name), offsetS: Number(z.offset) } : zones === 0 ? { name, abbrev: "UTC", offsetS: 0 } : null;
  return local ? { local, unseen: null, ref } : { local: null, unseen: `gdb read ${LOCAL_LOC} (${name}) but not the zone cached in it`, ref };
}

const goString = (v: unknown): string => (typeof v === "object" && v !== null ? String((v as Record<string, unknown>).string ?? "") : String(v ?? ""));

/**
 * A user's program cannot be stopped by gdb and traced by strace in one trial: its
 * variant runs one trial of each, and they are read as one observation — the opens of
 * the strace trial, the zone of the gdb trial. Our probe's trials stay as they are.
 */
export function mergeTargetObservations(obs: TzObservation[]): TzObservation[] {
  if (obs.length === 0 || !obs[0]!.userTarget) return obs;
  const opens = obs.find((o) => o.trial.records.strace !== undefined) ?? obs[0]!;
  const zone = obs.find((o) => o.local !== null) ?? obs.find((o) => o.trial.records.gdb !== undefined) ?? null;
  const unseen = zone?.zoneUnseen ?? "no gdb trial: gdb reads the zone the program uses from time.localLoc (--observe strace,gdb)";
  return [
    {
      ...opens,
      started: obs.some((o) => o.started),
      local: zone?.local ?? null,
      zoneUnseen: zone?.local ? null : unseen,
      refs: { ...opens.refs, ...(zone?.refs.local ? { local: zone.refs.local } : {}) },
    },
  ];
}

const zone = (f: Record<string, unknown>): Zone => ({ name: String(f.name), abbrev: String(f.abbrev), offsetS: Number(f.offsetS) });

/** A reference to a strace record, legible without the bundle. */
export function accessRef(o: TzObservation, a: FileAccess): RecordRef {
  return { trial: o.trial.id, source: "strace", index: a.index, text: `${a.syscall}(${a.source ? `${a.source} → ` : ""}${a.path}${a.flags.length ? `, ${a.flags.join("|")}` : ""}) ${a.errno ?? "ok"} [${a.by}]` };
}

/** The `run --json` matrix row: names are a contract (see the issue), keep them exactly. */
export function matrixRow(o: TzObservation): Record<string, unknown> {
  const v = o.trial.variant;
  const { runtime, init, go, tz, ...axes } = v;
  const hasLibc = typeof v.probe === "string" && v.probe.startsWith("cgo");
  const libc = o.libcPhases.afterSetenv ?? o.libcPhases.initial;
  return {
    variant: {
      runtime, init, go, ...axes,
      probe: v.probe ?? "go",
      tz: TZ_VALUES[typeof tz === "string" ? tz : "unset"] ?? null,
      zoneinfo: v.zoneinfo ?? "none",
      localtime: v.localtime ?? "absent",
    },
    trial: o.trial.id,
    observed: {
      started: o.started,
      failure: o.failure,
      local: o.local && { name: o.local.name, abbrev: o.local.abbrev, offsetS: o.local.offsetS },
      ...(o.localAfterSetenv ? { localAfterSetenv: o.localAfterSetenv } : {}),
      loadLocation: Object.fromEntries(Object.entries(o.loads).map(([z, r]) => [z, "error" in r ? { error: r.error } : r.name])),
      ...(hasLibc ? { libc: { localtime_r: libc?.localtime_r ?? null, localtime: libc?.localtime ?? null, afterTzset: o.libcPhases.afterTzset } } : {}),
      setlocale: o.setlocale?.result ?? null,
      opens: [...o.tzAccesses, ...o.localeAccesses].sort((a, b) => a.index - b.index).map((a) => ({ path: a.path, op: a.op, errno: a.errno, by: a.by })),
    },
  };
}
