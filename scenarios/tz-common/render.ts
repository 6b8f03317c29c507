import type { FileAccess } from "../../src/evidence/file-access.js";
import { variantAxes, type Finding, type TrialEvidence, type Variant } from "../../src/evidence/schemas.js";
import type { ScenarioRender } from "../../src/scenario/define.js";
import { matrixRow, observeTrial, type CZone, type TzObservation, type Zone } from "./observe.js";

// The matrix a person reads at a glance: one row per trial, the axes that vary in this run,
// then what the process reported and what it opened. The same rows go to `run --json`.

const hours = (s: number) => `${s < 0 ? "-" : "+"}${Math.abs(s) / 3600}`;
export const showZone = (z: Zone | null): string => (z ? `${z.name} ${z.abbrev}${hours(z.offsetS)}` : "?");
const showC = (z: CZone | null | undefined): string => (z ? `${z.abbrev}${hours(z.offsetS)}` : "?");

function showOpens(accesses: FileAccess[], traced: boolean): string {
  if (!traced) return "not traced (no strace in this observer set)";
  if (accesses.length === 0) return "nothing";
  const read = accesses.filter((a) => a.errno === null && a.op === "open");
  const misses = accesses.filter((a) => a.errno !== null);
  const parts = read.map((a) => `${a.path} [${a.by}]`);
  // A mount is always worth its own line: it is the T5 evidence.
  for (const m of accesses.filter((a) => a.op === "mount")) parts.push(`mount ${m.source}→${m.path} ${m.errno ?? "ok"}`);
  if (misses.length) parts.push(`${misses.length} miss${misses.length === 1 ? "" : "es"} (${[...new Set(misses.map((m) => m.errno))].join(",")})`);
  return parts.join("; ");
}

function showLoads(o: TzObservation): string {
  return Object.entries(o.loads)
    .map(([zone, r]) => `${zone}:${"error" in r ? "ERR" : "ok"}`)
    .join(" ");
}

export function reportedCells(o: TzObservation): string[] {
  if (!o.started) return [`did not start: ${o.failure ?? "?"}`];
  const cells = [`Local=${showZone(o.local)}${o.localAfterSetenv ? ` → after setenv ${showZone(o.localAfterSetenv)}` : ""}`];
  if (Object.keys(o.loads).length) cells.push(`Load ${showLoads(o)}`);
  const { initial, afterSetenv, afterTzset } = o.libcPhases;
  if (initial) {
    cells.push(
      `libc r=${showC(initial.localtime_r)} lt=${showC(initial.localtime)}` +
        (afterSetenv ? ` | setenv: r=${showC(afterSetenv.localtime_r)} lt=${showC(afterSetenv.localtime)}` : "") +
        (afterTzset ? ` | tzset: r=${showC(afterTzset.localtime_r)}` : ""),
    );
  }
  if (o.setlocale) cells.push(`setlocale=${o.setlocale.result ?? "NULL"} (${o.setlocale.codeset})`);
  if (o.mount) cells.push(`mount ${o.mount.error ?? "ok"}`);
  if (o.failure) cells.push(`ended: ${o.failure}`);
  return cells;
}

/** The axes whose value differs between the trials (plus go): the columns worth a glance. */
function varyingAxes(trials: TrialEvidence[]): string[] {
  const names = new Set(trials.flatMap((t) => ["go", ...variantAxes(t.variant).map(([k]) => k)]));
  return [...names].filter((k) => k === "go" || new Set(trials.map((t) => String(t.variant[k]))).size > 1 || trials.length === 1);
}

export function matrixLines(trials: TrialEvidence[], opens: (o: TzObservation) => FileAccess[]): string[] {
  if (trials.length === 0) return [];
  const axes = varyingAxes(trials);
  const rows = trials.map((t) => {
    const o = observeTrial(t);
    return { keys: axes.map((a) => `${a}=${t.variant[a] ?? "unset"}`), reported: reportedCells(o).join("  "), opens: showOpens(opens(o), t.records.strace !== undefined) };
  });
  const width = axes.map((_, i) => Math.max(...rows.map((r) => r.keys[i]!.length)));
  return [
    `matrix (${axes.join(" × ")} → what the process reported | what it opened):`,
    ...rows.map((r) => `  ${r.keys.map((k, i) => k.padEnd(width[i]!)).join(" ")}  ${r.reported}  | opened: ${r.opens}`),
  ];
}

/**
 * Variants that differ only in the Go toolchain and whose observations (names, offsets,
 * paths, errnos — no instants) differ: where Go versions disagree. Empty when they agree.
 */
export function goDifferences(trials: TrialEvidence[]): { variant: Record<string, unknown>; byGo: Record<string, unknown> }[] {
  const groups = new Map<string, TrialEvidence[]>();
  for (const t of trials) {
    const { go: _go, ...rest } = t.variant;
    const key = JSON.stringify(Object.entries(rest).sort());
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  const out: { variant: Record<string, unknown>; byGo: Record<string, unknown> }[] = [];
  for (const group of groups.values()) {
    const rows = group.map((t) => ({ go: t.variant.go, observed: matrixRow(observeTrial(t)).observed }));
    if (new Set(rows.map((r) => JSON.stringify(r.observed))).size < 2) continue;
    const { go: _go, ...variant } = group[0]!.variant;
    out.push({ variant, byGo: Object.fromEntries(rows.map((r) => [r.go, r.observed])) });
  }
  return out;
}

function versionLines(trials: TrialEvidence[]): string[] {
  const versions = [...new Set(trials.map((t) => t.variant.go))];
  if (versions.length < 2) return [];
  const diffs = goDifferences(trials);
  if (diffs.length === 0) return [`Go versions: ${versions.join(" and ")} reported and opened the same in every variant`];
  return [`Go versions differ in ${diffs.length} variant(s):`, ...diffs.map((d) => `  ${JSON.stringify(d.variant)}: ${Object.entries(d.byGo).map(([go, o]) => `${go} ${JSON.stringify(o).slice(0, 200)}`).join(" | ")}`)];
}

export function makeRender(opens: (o: TzObservation) => FileAccess[]): ScenarioRender {
  return {
    trialLine: (trial) => {
      const o = observeTrial(trial);
      return `${reportedCells(o).join("  ")}  | opened: ${showOpens(opens(o), trial.records.strace !== undefined)}`;
    },
    variantSummary: (_variant: Variant, _trials: TrialEvidence[]) => [],
    trialJson: (trial) => matrixRow(observeTrial(trial)),
    runSummary: (trials: TrialEvidence[], _findings: Finding[]) => [...matrixLines(trials, opens), ...versionLines(trials)],
    runJson: (trials: TrialEvidence[]) => ({ matrix: trials.map((t) => matrixRow(observeTrial(t))), goDifferences: goDifferences(trials) }),
  };
}
