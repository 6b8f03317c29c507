import { variantAxes, type Finding, type RecordSource, type TrialEvidence, type Variant, type Verdict } from "../evidence/schemas.js";
import type { KernelRecord } from "../parse/kernel-records.js";
import { kernelNumber } from "../parse/kernel.js";
import { nsTextToUs } from "../parse/probe.js";
import { signalName, signalNumber } from "../parse/signals.js";
import type { LoadedBundle } from "./read.js";
import { createRawLineLookup, type RawTexts } from "./raw-lines.js";

// The report's view model: everything `forensics report` shows, computed from a bundle and
// the raw files its findings cite, with no I/O. The Markdown and HTML renderers only lay
// it out, so what a report says is tested once, here.

/** One named value of the environment or the parameters: "kernel" → "6.18.44", "trials" → "1". */
export interface ReportRow {
  name: string;
  value: string;
}

export interface EvidenceLine {
  trial: string;
  source: RecordSource;
  index: number;
  /** µs after the trial's exec; null when the record has no clock (gdb). */
  atUs: number | null;
  pid: number | null;
  /** The record as forensics reads it. */
  text: string;
  /** The lines the observer wrote, exactly; null when they cannot be recovered (then `text` stands in). */
  raw: { file: string; lines: string[] } | null;
}

export interface FindingView {
  variant: string;
  verdict: Verdict;
  summary: string;
  measurements: [string, number | null][];
  evidence: EvidenceLine[];
}

export interface ClaimView {
  claim: string;
  statement: string;
  /** Verdicts across variants, e.g. { confirmed: 2, refuted: 1 }. */
  tally: Partial<Record<Verdict, number>>;
  findings: FindingView[];
}

export type MarkKind = "exec" | "handler" | "notify" | "send" | "generate" | "deliver" | "handled" | "exit";

/** One instant on a trial's SVG timeline. */
export interface TrialMark {
  atUs: number;
  kind: MarkKind;
  label: string;
  /** For generate: the kernel's result (delivered, ignored…). */
  result?: string;
}

export interface TrialView {
  id: string;
  variant: string;
  intent: string;
  observers: string;
  originSource: string;
  /** Sorted by time; exec first. */
  marks: TrialMark[];
  /** Phases between consecutive boundaries: before-handler, before-notify, after-notify. */
  phases: { name: string; fromUs: number; toUs: number }[];
  endUs: number;
}

export interface ReportModel {
  runId: string;
  scenario: string;
  status: string;
  /** Why a partial bundle stopped. */
  reason: string | null;
  startedAt: string;
  finishedAt: string | null;
  toolVersion: string;
  environment: ReportRow[];
  parameters: ReportRow[];
  /** The `forensics run …` command line that repeats this run. */
  reproduce: string;
  claims: ClaimView[];
  trials: TrialView[];
  /** Redaction of an exported bundle ("secret-env 2"), null when none was applied. */
  redaction: string | null;
}

/** Raw captures by bundle-relative path, for the trials the caller could read. */
export type BundleRawTexts = Record<string, RawTexts>;

/** Builds the report of a bundle; `raw` holds the trials' raw files by trial id. */
export function buildReportModel(bundle: LoadedBundle, raw: BundleRawTexts): ReportModel {
  const { manifest } = bundle;
  const trials = new Map(bundle.trials.map((t) => [t.id, t]));
  const lookups = new Map<string, ReturnType<typeof createRawLineLookup>>();
  const lookupOf = (t: TrialEvidence) => {
    if (!lookups.has(t.id)) lookups.set(t.id, createRawLineLookup(t, raw[t.id] ?? {}));
    return lookups.get(t.id)!;
  };

  const claims: ClaimView[] = [];
  for (const f of bundle.findings.findings) {
    let claim = claims.find((c) => c.claim === f.claim);
    if (!claim) claims.push((claim = { claim: f.claim, statement: f.statement, tally: {}, findings: [] }));
    claim.tally[f.verdict] = (claim.tally[f.verdict] ?? 0) + 1;
    claim.findings.push(findingView(f, trials, lookupOf));
  }

  const redaction = (manifest as { redaction?: { applied: boolean; counts: Record<string, number> } }).redaction;
  return {
    runId: manifest.runId,
    scenario: manifest.scenario,
    status: manifest.status,
    reason: manifest.reason ?? null,
    startedAt: manifest.startedAt,
    finishedAt: manifest.finishedAt ?? null,
    toolVersion: manifest.tool.version,
    environment: environmentOf(manifest),
    parameters: parametersOf(manifest.params),
    reproduce: reproduceCommand(manifest.scenario, manifest.params),
    claims,
    trials: bundle.trials.map(trialView),
    redaction: redaction?.applied ? Object.entries(redaction.counts).map(([rule, n]) => `${rule} ${n}`).join(", ") || "nothing found" : null,
  };
}

/** How reports name a variant: runtime, init, Go, and the scenario's own axes. */
export const variantName = (v: Variant): string =>
  [v.runtime, `init=${v.init}`, v.go, ...variantAxes(v).map(([k, value]) => `${k}=${value ?? "unset"}`)].join(" · ");

function findingView(f: Finding, trials: Map<string, TrialEvidence>, lookupOf: (t: TrialEvidence) => (s: RecordSource, i: number) => { file: string; lines: string[] } | null): FindingView {
  return {
    variant: variantName(f.variant),
    verdict: f.verdict,
    summary: f.summary,
    measurements: Object.entries(f.measurements ?? {}),
    evidence: f.evidence.map((ref) => {
      const trial = trials.get(ref.trial);
      const entry = trial?.timeline.find((e) => e.source === ref.source && e.index === ref.index);
      return {
        trial: ref.trial,
        source: ref.source,
        index: ref.index,
        atUs: entry?.atUs ?? null,
        pid: entry?.pid ?? null,
        text: ref.text,
        raw: trial ? lookupOf(trial)(ref.source, ref.index) : null,
      };
    }),
  };
}

function environmentOf(manifest: LoadedBundle["manifest"]): ReportRow[] {
  const tools = manifest.host?.tools ?? {};
  const params = manifest.params;
  const list = (v: unknown): string => (Array.isArray(v) ? v.join(", ") : v === undefined || v === null ? "" : String(v));
  const rows: [string, string | null | undefined][] = [
    ["forensics", manifest.tool.version],
    ["kernel", manifest.host?.kernel],
    ["Go (probe)", list(params.go) || tools["go (probe)"]],
    ["Go (host)", tools.go],
    ["runtime", list(params.runtime)],
    ["init", list(params.inits)],
    ["Docker", tools.docker],
    ["strace", tools.strace],
    ["gdb", tools.gdb],
    ["tini", tools.tini],
    ["dumb-init", tools["dumb-init"]],
    ["node", manifest.host?.node],
  ];
  return rows.map(([name, value]) => ({ name, value: value === undefined || value === null || value === "" ? "not recorded" : value }));
}

function parametersOf(params: Record<string, unknown>): ReportRow[] {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([name, v]) => ({ name, value: typeof v === "string" ? v : JSON.stringify(v) }));
}

/** Single-quotes a shell word unless it is plainly safe. */
const shellWord = (s: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

const flagValue = (v: unknown): string => (Array.isArray(v) ? v.map(String).join(",") : String(v));

/**
 * Rebuilds the `forensics run` flags from what the manifest recorded, so the command names
 * the same runtime, inits, Go release, observer sets, trials, scenario options and target.
 * The Go release is pinned (`--go 1.26.8`, not `host`): the reader's host Go may differ.
 * Version 1 bundles recorded `strace: both|on|off` and `offsetsUs`; they map to today's flags.
 */
export function reproduceCommand(scenario: string, params: Record<string, unknown>): string {
  const words = ["forensics", "run", scenario];
  const add = (flag: string, value?: unknown) => words.push(flag, ...(value === undefined ? [] : [flagValue(value)]));
  if (typeof params.runtime === "string") add("--runtime", params.runtime);
  if (Array.isArray(params.inits) && params.inits.length > 0) add("--init", params.inits);
  const target = (params.target ?? {}) as { kind?: string; label?: string; args?: string[] };
  const go = (Array.isArray(params.go) ? params.go : typeof params.go === "string" ? [params.go] : []).filter((g): g is string => /^go\d/.test(String(g)));
  if ((target.kind ?? "probe") === "probe" && go.length > 0) add("--go", go.map((g) => g.replace(/^go/, "")));
  if (target.kind === "binary" && target.label) add("--binary", target.label);
  if (target.kind === "image" && target.label) add("--image", target.label);
  for (const [axis, values] of Object.entries((params.axes ?? {}) as Record<string, unknown>)) if (Array.isArray(values) && values.length > 0) add(`--${axis}`, values);
  if (typeof params.trials === "number") add("--trials", params.trials);
  if (Array.isArray(params.observe)) add("--observe", params.observe);
  else if (typeof params.strace === "string") add("--strace", params.strace);
  const options = (params.options ?? {}) as Record<string, unknown>;
  for (const [name, value] of Object.entries(options)) if (value !== undefined && value !== false) add(`--${name}`, value === true ? undefined : value);
  if (Array.isArray(params.offsetsUs) && params.offsetsUs.length > 0 && options.offsets === undefined) add("--offsets", params.offsetsUs);
  if (target.args && target.args.length > 0) words.push("--", ...target.args);
  return words.map(shellWord).join(" ");
}

/** One kill(2) of the driver: the signal, and when the call started and returned (decimal CLOCK_REALTIME ns). */
export interface DriverSend {
  sig: number;
  sendNs: string;
  sentNs: string | null;
  error: string | null;
}

/**
 * The driver's sends from its runtime.jsonl event: `sends[]` since it can send several;
 * drivers of version 1 bundles sent one signal and said so in `signal` and `sendNs`.
 */
export function driverSends(fields: Record<string, unknown>): DriverSend[] {
  const listed = Array.isArray(fields.sends) ? (fields.sends as Record<string, unknown>[]) : [{ sig: fields.signal, sendNs: fields.sendNs, sentNs: fields.sentNs }];
  return listed.flatMap((s) =>
    Number.isInteger(s.sig) && typeof s.sendNs === "string"
      ? [{ sig: s.sig as number, sendNs: s.sendNs, sentNs: typeof s.sentNs === "string" ? s.sentNs : null, error: typeof s.error === "string" ? s.error : null }]
      : [],
  );
}

const GO_SETSIG = "runtime.setsig";
const SIGKILL = 9;
/** si_code of a kill(2). */
const SI_USER = 0;
const GO_SIGHANDLER = "runtime.sighandler";

/**
 * The instants a reader of a signal bug looks for, in one trial: the exec, the Go handler's
 * installation and signal.Notify for each signal the driver sent, every send, the kernel's
 * generation (with its result) and delivery, the program's handling, and the end. Each
 * comes from the best observer that saw it; none is guessed.
 */
export function trialMarks(t: TrialEvidence): TrialMark[] {
  const marks: TrialMark[] = [{ atUs: 0, kind: "exec", label: `exec (origin: ${t.origin.source})` }];
  const at = (us: number) => us - t.originUs;
  const runtime = t.records.runtime.flatMap((r) => (r.kind === "probe" ? [r] : []));
  const probe = t.records.probe.flatMap((r) => (r.kind === "probe" ? [r] : []));
  const driver = runtime.find((r) => r.ev === "driver");
  const sends = driverSends(driver?.fields ?? {});
  const sigs = new Set(sends.map((s) => s.sig));
  for (const s of sends) marks.push({ atUs: at(nsTextToUs(s.sendNs)), kind: "send", label: `send ${sigName(s.sig)} (driver)` });

  const kernel = t.records.kernel ?? [];
  // The signals in question, and a SIGKILL someone sent (the harness's deadline): Go's own
  // (SIGURG preemption, SIGCHLD) and the kernel's SIGKILL to each thread of a dying
  // process would bury them.
  const shown = (r: { sig: number; code: number }, kind: string) => sigs.has(r.sig) || (kind === "signal-generate" && r.sig === SIGKILL && r.code === SI_USER);
  /** The first handler installation of each signal in question, and who saw it. */
  const handlers = new Map<number, { us: number; by: string }>();
  for (const r of kernel) {
    if (r.tsUs === null) continue;
    const handlerSet = handlerInstalled(r);
    if (handlerSet !== null && sigs.has(handlerSet) && !handlers.has(handlerSet)) handlers.set(handlerSet, { us: at(r.tsUs), by: `Go's ${GO_SETSIG}` });
    if ((r.kind === "signal-generate" || r.kind === "signal-deliver") && !shown(r, r.kind)) continue;
    if (r.kind === "signal-generate") marks.push({ atUs: at(r.tsUs), kind: "generate", label: `generate ${r.signal ?? r.sig} → ${r.targetPid}`, result: r.resultName ?? `result ${r.result}` });
    else if (r.kind === "signal-deliver") marks.push({ atUs: at(r.tsUs), kind: "deliver", label: `deliver ${r.signal ?? r.sig} in ${r.pid}` });
    else if (r.kind === "uprobe" && r.fn === GO_SIGHANDLER && typeof r.args.sig === "number" && sigs.has(r.args.sig)) marks.push({ atUs: at(r.tsUs), kind: "handled", label: `${GO_SIGHANDLER}(${sigName(r.args.sig)})` });
    else if (r.kind === "exit" && r.groupDead === true) marks.push({ atUs: at(r.tsUs), kind: "exit", label: `exit of ${r.exitComm} (last thread ${r.exitPid})` });
  }
  // strace reports every thread's end; a process's is what a reader wants (pids that exec'd).
  const execs = (t.records.strace ?? []).flatMap((r) => (r.kind === "syscall" && r.syscall === "execve" && r.ret === "0" && r.pid !== null ? [{ pid: r.pid, path: r.args[0] }] : []));
  const processes = new Set(execs.map((e) => e.pid));
  // The program's own handler, not an init's (dumb-init installs one for every signal).
  const target = runtime.find((r) => r.ev === "container")?.fields.target as { programPath?: unknown } | undefined;
  const programPath = JSON.stringify(typeof target?.programPath === "string" ? target.programPath : "/probe");
  const programPids = new Set(execs.filter((e) => e.path === programPath).map((e) => e.pid));
  for (const r of t.records.strace ?? []) {
    if (r.tsUs === null) continue;
    if (r.kind === "syscall" && r.syscall === "rt_sigaction") {
      const sig = signalNumber(r.args[0] ?? "");
      if (sig !== null && sigs.has(sig) && !handlers.has(sig) && programPids.has(r.pid!) && /sa_handler=0x[0-9a-f]+/.test(r.args[1] ?? "")) handlers.set(sig, { us: at(r.tsUs), by: "rt_sigaction, strace" });
    } else if (r.kind === "signal" && sigs.has(signalNumber(r.signal) ?? -1)) marks.push({ atUs: at(r.tsUs), kind: "deliver", label: `--- ${r.signal} (strace)` });
    else if ((r.kind === "exit" || r.kind === "killed") && r.pid !== null && processes.has(r.pid)) marks.push({ atUs: at(r.tsUs), kind: "exit", label: r.kind === "exit" ? `exit ${r.exitCode} (pid ${r.pid})` : `killed by ${r.signal} (pid ${r.pid})` });
  }
  // Without an observer, the driver's sampling of /proc/PID/status (SigCgt) saw the handler.
  if (typeof driver?.fields.handlerSeenNs === "string") for (const sig of sigs) if (!handlers.has(sig)) handlers.set(sig, { us: at(nsTextToUs(driver.fields.handlerSeenNs)), by: "SigCgt, driver" });
  for (const [sig, { us, by }] of handlers) marks.push({ atUs: us, kind: "handler", label: `handler for ${sigName(sig)} installed (${by})` });

  for (const r of probe) {
    if (r.ev === "notify") marks.push({ atUs: at(r.tsUs), kind: "notify", label: "signal.Notify returned" });
    else if (r.ev === "signal") marks.push({ atUs: at(r.tsUs), kind: "handled", label: `program received ${String(r.fields.name ?? "a signal")}` });
  }
  const exit = runtime.find((r) => r.ev === "exit");
  if (exit) marks.push({ atUs: at(exit.tsUs), kind: "exit", label: `harness saw the end: ${exit.fields.signal ? `killed by ${String(exit.fields.signal)}` : `exit ${String(exit.fields.code)}`}` });
  return marks.sort((a, b) => a.atUs - b.atUs || MARK_ORDER.indexOf(a.kind) - MARK_ORDER.indexOf(b.kind));
}

const MARK_ORDER: MarkKind[] = ["exec", "handler", "notify", "send", "generate", "deliver", "handled", "exit"];

/** The signal a record shows Go's runtime (setsig uprobe) or the program (rt_sigaction enter) giving a handler, or null. */
function handlerInstalled(r: KernelRecord): number | null {
  if (r.kind === "uprobe" && r.fn === GO_SETSIG && typeof r.args.sig === "number" && typeof r.args.handler === "string" && (kernelNumber(r.args.handler) ?? 0) > 1) return r.args.sig;
  return null;
}

const sigName = (n: number): string => signalName(n) ?? `signal ${n}`;

function trialView(t: TrialEvidence): TrialView {
  const marks = trialMarks(t);
  const first = (kind: MarkKind) => marks.find((m) => m.kind === kind)?.atUs ?? null;
  const endUs = Math.max(0, ...marks.map((m) => m.atUs), ...t.timeline.map((e) => e.atUs));
  const bounds: [string, number | null][] = [
    ["before-handler", 0],
    ["before-notify", first("handler")],
    ["after-notify", first("notify")],
  ];
  // The phases are a signal's: a trial that sends none (a time-zone scenario) has none.
  const known = marks.some((m) => m.kind === "send") ? bounds.filter((b): b is [string, number] => b[1] !== null) : [];
  const phases = known.map(([name, fromUs], i) => ({ name, fromUs, toUs: known[i + 1]?.[1] ?? endUs }));
  return {
    id: t.id,
    variant: variantName(t.variant),
    intent: t.request.intent,
    observers: t.request.observers.length === 0 ? "none" : t.request.observers.join("+"),
    originSource: t.origin.source,
    marks,
    phases,
    endUs,
  };
}
