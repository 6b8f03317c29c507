import { SOURCES } from "../evidence/facets.js";
import { sameVariant, variantAxes, variantKey, type Finding } from "../evidence/schemas.js";
import { syscallArgs } from "../parse/syscall-table.js";
import { escapeText, fit, formatUs } from "./format.js";
import { formatFilter } from "./filter.js";
import type { RawLocator } from "./raw-location.js";
import { decodeArg, fieldsOf } from "./records.js";
import { sourceName, type ReplaySession } from "./session.js";
import { FLAG, rowAtTime, type TrialIndex } from "./trial-index.js";

// What each pane shows for a session: pure functions from state to styled lines. The
// blessed app only turns styles into terminal attributes; tests read these directly.

export type Style = "cursor" | "hit" | "mark" | "dim" | "bold" | "failed" | "signal" | "cited" | "interval" | "paused" | "playing" | "partial" | "title" | "confirmed" | "refuted" | "inconclusive";
export interface Span {
  text: string;
  style?: Style;
}
export type Line = Span[];

export const plain = (line: Line): string => line.map((s) => s.text).join("");

export interface Layout {
  width: number;
  header: number;
  timeline: number;
  findings: number;
  detail: number;
  status: number;
}

/** Pane heights for a terminal; the timeline gets what the others leave, never less than 3 rows. */
export function layout(width: number, height: number, findings: number): Layout {
  const header = 2;
  const status = 1;
  const rest = Math.max(0, height - header - status);
  const f = height < 16 ? 0 : Math.min(findings + 1, Math.max(2, Math.floor(rest / 6)));
  const detail = height < 12 ? 0 : Math.max(3, Math.floor((rest - f) * 0.38));
  const timeline = Math.max(1, rest - f - detail);
  return { width, header, timeline, findings: f, detail, status };
}

const VERDICT: Record<string, { short: string; style: Style }> = {
  confirmed: { short: "✓", style: "confirmed" },
  refuted: { short: "✗", style: "refuted" },
  inconclusive: { short: "?", style: "inconclusive" },
};

export function headerLines(s: ReplaySession, width: number): Line[] {
  const m = s.data.manifest;
  const t = s.trial;
  const vi = s.variantKeys.indexOf(variantKey(t.variant)) + 1;
  const inVariant = s.order.filter((i) => sameVariant(s.data.trials[i]!.variant, t.variant));
  const ti = inVariant.indexOf(s.order[s.trialPos]!) + 1;
  const axes = variantAxes(t.variant).map(([k, v]) => ` ${k}=${v ?? "unset"}`).join("");
  const line1: Line = [
    { text: " forensics replay ", style: "title" },
    // First, so no width can cut it off.
    ...(s.data.partial !== null ? [{ text: " " }, { text: ` PARTIAL: ${s.data.partial} `, style: "partial" as const }] : []),
    { text: ` ${m.scenario} · ${m.runId}` },
  ];
  const verdicts: Line = s.variantFindings.flatMap((f) => [{ text: " " }, { text: `${f.claim}${VERDICT[f.verdict]?.short ?? "?"}`, style: VERDICT[f.verdict]?.style }]);
  // Most telling first, so a narrow terminal cuts the least useful end: trial, verdicts, variant.
  const line2: Line = [
    { text: `trial ${t.id} (${ti}/${inVariant.length})`, style: "bold" },
    ...verdicts,
    { text: " · " },
    { text: `${t.variant.runtime} init=${t.variant.init} ${t.variant.go}${axes}`, style: "bold" },
    { text: ` (variant ${vi}/${s.variantKeys.length}) · obs=${s.observerSet} · ${t.request.intent}`, style: "dim" },
  ];
  return [clip(line1, width), clip(line2, width)];
}

const SRC: Record<string, string> = { strace: "strace", kernel: "kernel", gdb: "gdb", probe: "probe", runtime: "harn" };

/** Column widths of a timeline row for a pane width. */
function columns(width: number) {
  const narrow = width < 70;
  return { gutter: 2, time: 11, delta: narrow ? 0 : 11, src: narrow ? 4 : 7, pid: narrow ? 0 : 7 };
}

/** One timeline row: gutter (mark, interval), time from exec, Δ to the previous record, source, pid, text. */
export function timelineRow(s: ReplaySession, ix: TrialIndex, row: number, width: number, opts: { cursor: boolean; interval: { fromUs: number; toUs: number } | null; prev: number | null }): Line {
  const c = columns(width);
  const at = ix.atUs[row]!;
  const flags = ix.flags[row]!;
  const marks = s.marks.get(ix.trial.id);
  const inInterval = opts.interval !== null && at >= opts.interval.fromUs && at <= opts.interval.toUs;
  const gutter: Span = { text: `${marks?.has(row) ? "◆" : " "}${inInterval ? "┃" : flags & FLAG.cited ? "•" : " "}`, style: marks?.has(row) ? "mark" : inInterval ? "interval" : "cited" };
  const delta = opts.prev === null ? "" : formatUs(at - ix.atUs[opts.prev]!);
  const src = SRC[sourceName(ix, row)] ?? "?";
  const pid = ix.pid[row]! >= 0 ? String(ix.pid[row]) : "";
  const textWidth = Math.max(1, width - c.gutter - c.time - c.delta - c.src - c.pid - 4);
  const text = escapeText(ix.text(row).replace(/^\[\d+\] /, ""));
  const rowStyle: Style | undefined = opts.cursor ? "cursor" : flags & FLAG.failed ? "failed" : flags & FLAG.signal ? "signal" : undefined;
  const main: Line = [
    { text: `${formatUs(at).padStart(c.time)} `, style: opts.cursor ? "cursor" : "dim" },
    ...(c.delta ? [{ text: `${fit(delta, c.delta - 1).trimEnd().padStart(c.delta - 1)} `, style: opts.cursor ? ("cursor" as const) : ("dim" as const) }] : []),
    { text: `${fit(src, c.src - 1)} `, style: rowStyle },
    ...(c.pid ? [{ text: `${fit(pid, c.pid - 1)} `, style: rowStyle }] : []),
    ...highlight(fit(text, textWidth), s.search?.re ?? null, rowStyle),
  ];
  return [gutter, ...main];
}

function highlight(text: string, re: RegExp | null, style: Style | undefined): Span[] {
  if (!re) return [{ text, style }];
  const g = new RegExp(re.source, re.flags.includes("g") ? re.flags : `${re.flags}g`);
  const out: Span[] = [];
  let last = 0;
  for (const m of text.matchAll(g)) {
    if (m[0] === "") break;
    out.push({ text: text.slice(last, m.index), style }, { text: m[0], style: "hit" });
    last = m.index! + m[0].length;
  }
  out.push({ text: text.slice(last), style });
  return out.filter((sp) => sp.text !== "");
}

/** The timeline pane: only the rows on screen are read from the index. */
export function timelineLines(s: ReplaySession, width: number, height: number): Line[] {
  s.pageRows = height;
  const vis = s.visible;
  const ix = s.index;
  if (vis.length === 0) return [[{ text: fit(ix.n === 0 ? " (this trial has no timed records)" : " (every row is hidden by the filter: x clears it)", width), style: "dim" }]];
  if (s.cursorPos < s.top) s.top = s.cursorPos;
  if (s.cursorPos >= s.top + height) s.top = s.cursorPos - height + 1;
  const interval = s.findingInterval();
  const out: Line[] = [];
  for (let p = s.top; p < Math.min(vis.length, s.top + height); p++) {
    const row = vis[p]!;
    out.push(clip(timelineRow(s, ix, row, width, { cursor: row === s.cursorRow, interval, prev: p > 0 ? vis[p - 1]! : null }), width));
  }
  return out;
}

/** Compare: two trials side by side, the right one aligned on the left's times (both from their exec). */
export function compareLines(s: ReplaySession, width: number, height: number): Line[] {
  const left = timelineLines(s, Math.floor((width - 1) / 2), height);
  const rw = width - Math.floor((width - 1) / 2) - 1;
  const other = s.compare === null ? null : s.indexOf(s.compare);
  const right: Line[] = [];
  if (other && other.n > 0) {
    const vis = s.visible;
    const topUs = s.index.atUs[vis[s.top] ?? 0] ?? 0;
    const cursorUs = s.index.atUs[s.cursorRow] ?? 0;
    const start = rowAtTime(other, topUs);
    const cur = rowAtTime(other, cursorUs);
    for (let r = start; r < Math.min(other.n, start + height); r++) right.push(clip(timelineRow(s, other, r, rw, { cursor: r === cur, interval: null, prev: r > 0 ? r - 1 : null }), rw));
  } else right.push([{ text: fit(" (no other trial of this variant to compare with)", rw), style: "dim" }]);
  const out: Line[] = [];
  for (let i = 0; i < height; i++) out.push([...(left[i] ?? [{ text: " ".repeat(Math.floor((width - 1) / 2)) }]), { text: "│", style: "dim" }, ...(right[i] ?? [])]);
  return out;
}

/**
 * The observer effect in one line: the probe's own events (start, notify, signal, exit) in
 * both trials, each from its exec, and how much later they came on the left.
 */
export function compareLandmarks(s: ReplaySession, width: number): Line {
  const other = s.compare === null ? null : s.data.trials[s.order[s.compare]!]!;
  if (!other) return clip([], width);
  const firstOf = (t: typeof other) => {
    const m = new Map<string, number>();
    const count = t.columns().counts[SOURCES.indexOf("probe")] ?? 0;
    for (let i = 0; i < count; i++) {
      const r = t.record("probe", i);
      if (r?.kind === "probe" && typeof r.ev === "string" && typeof r.tsUs === "number" && !m.has(r.ev)) m.set(r.ev, r.tsUs - t.originUs);
    }
    return m;
  };
  const left = firstOf(s.trial);
  const right = firstOf(other);
  const parts: Span[] = [{ text: " probe events from exec, left vs right:", style: "dim" }];
  for (const [ev, l] of left) {
    const r = right.get(ev);
    if (r === undefined) continue;
    parts.push({ text: ` ${ev} ${formatUs(l)} vs ${formatUs(r)}` }, { text: ` (${formatUs(l - r)})`, style: Math.abs(l - r) >= 1000 ? "failed" : "dim" }, { text: " ·", style: "dim" });
  }
  if (parts.length === 1) parts.push({ text: " none in common", style: "dim" });
  return clip(parts, width);
}

export function compareTitle(s: ReplaySession, width: number): Line {
  const half = Math.floor((width - 1) / 2);
  const other = s.compare === null ? null : s.data.trials[s.order[s.compare]!]!;
  const oset = other ? other.request.observers.join("+") || "none" : "-";
  return [{ text: fit(` ${s.trial.id} observed by ${s.observerSet} (${s.trial.request.intent})`, half), style: "bold" }, { text: "│", style: "dim" }, { text: fit(` ${other?.id ?? "-"} observed by ${oset} (${other?.request.intent ?? ""}) · aligned on the exec`, width - half - 1), style: "bold" }];
}

/** The detail pane: the raw line(s) with file@offset, fields, decoded args, findings citing it, its causal chain. */
export function detailLines(s: ReplaySession, raw: RawLocator, width: number): Line[] {
  const ix = s.index;
  const row = s.cursorRow;
  if (row >= ix.n) return [[{ text: " no record", style: "dim" }]];
  const src = sourceName(ix, row);
  const index = ix.record[row]!;
  const r = s.record(row);
  const out: Line[] = [];
  const anchor = s.anchorRow;
  const rel = anchor !== null && anchor !== row ? ` · ${formatUs(ix.atUs[row]! - ix.atUs[anchor]!)} from mark #${anchor}` : "";
  out.push([{ text: `#${row} `, style: "bold" }, { text: `${src}#${index} ${r?.kind ?? "?"} · ${formatUs(ix.atUs[row]!)} from exec${rel}${ix.pid[row]! >= 0 ? ` · pid ${ix.pid[row]}` : ""}` }]);
  const lines = r ? raw.locate(ix.trial, src, index, r) : [];
  if (lines.length === 0) out.push([{ text: "raw  ", style: "dim" }, { text: "(not found in the raw files)", style: "dim" }]);
  for (const l of lines) {
    out.push([{ text: "raw  ", style: "dim" }, { text: `${l.file}@${l.offset}`, style: "dim" }]);
    out.push([{ text: `  ${escapeText(l.text)}` }]);
  }
  if (r) {
    out.push([{ text: "fields ", style: "dim" }, { text: escapeText(fieldsOf(r).filter(([k]) => k !== "args" || r.kind !== "syscall").map(([k, v]) => `${k}=${v}`).join("  ")) }]);
    if (r.kind === "syscall" && Array.isArray(r.args)) {
      const roles = syscallArgs(String(r.syscall)) ?? {};
      const roleAt = new Map(Object.entries(roles).map(([role, i]) => [i as number, role]));
      (r.args as string[]).forEach((a, i) => {
        const decoded = decodeArg(roleAt.get(i), a);
        out.push([{ text: `  arg${i}${roleAt.has(i) ? ` (${roleAt.get(i)})` : ""} `, style: "dim" }, { text: escapeText(a) }, ...(decoded ? [{ text: `  ${escapeText(decoded)}`, style: "dim" as const }] : [])]);
      });
    }
  }
  const citing = s.data.findings.filter((f) => f.evidence.some((e) => e.trial === ix.trial.id && e.source === src && e.index === index));
  for (const f of citing) out.push([{ text: "cited by ", style: "dim" }, { text: `${f.claim} ${f.verdict.toUpperCase()}`, style: VERDICT[f.verdict]?.style }, { text: ` ${escapeText(f.summary)}` }]);
  const chain = s.chain(row);
  if (chain.length > 0) {
    out.push([{ text: `causal chain (${chain.length} hops; l/h follow)`, style: "bold" }]);
    let marked = false;
    for (const [i, h] of chain.entries()) {
      const hopRow = h.stage === "resumed" && i > 0 ? rowAtTime(ix, h.atUs) : ix.rowOf(h.source, h.index);
      const here: boolean = !marked && hopRow === row;
      marked ||= here;
      out.push([{ text: `${here ? "▶" : " "} ${fit(h.stage, 8)} ${formatUs(h.atUs).padStart(11)} ${h.latencyUs === null ? "".padStart(10) : `Δ${formatUs(h.latencyUs)}`.padStart(10)} `, style: here ? "bold" : "dim" }, { text: escapeText(`${h.source}: ${h.label}`) }]);
    }
  }
  return out.map((l) => clip(l, width));
}

export function findingsLines(s: ReplaySession, width: number, height: number): Line[] {
  const fs = s.variantFindings;
  if (fs.length === 0) return [[{ text: fit(" no findings for this variant", width), style: "dim" }]];
  const first = Math.max(0, Math.min(s.findingPos - height + 1, fs.length - height));
  return fs.slice(Math.max(0, first), Math.max(0, first) + height).map((f: Finding, k) => {
    const i = Math.max(0, first) + k;
    const sel = i === s.findingPos;
    const here = f.evidence.filter((e) => e.trial === s.trial.id).length;
    return clip(
      [
        { text: sel ? (s.focus === "findings" ? "▶" : "›") : " ", style: sel ? "bold" : undefined },
        { text: ` ${f.claim} ${f.verdict.toUpperCase().padEnd(12)}`, style: VERDICT[f.verdict]?.style },
        { text: ` ${here ? `${here} here` : "0 here"} `, style: "dim" },
        { text: escapeText(f.summary), style: sel && s.focus === "findings" ? "cursor" : undefined },
      ],
      width,
    );
  });
}

const BARS = " ▁▂▃▄▅▆▇█";
const histograms = new WeakMap<Int32Array, { width: number; counts: Uint32Array; fromUs: number; spanUs: number }>();

/**
 * lnav's histogram: how the visible rows spread over the trial's time, one cell per slice,
 * the cursor's slice inverted, failures' slices in the failure style. Cached per visible set.
 */
export function histogramLine(s: ReplaySession, width: number): Line {
  const vis = s.visible;
  const ix = s.index;
  const label = " rows/time ";
  const cells = Math.max(1, width - label.length - 1);
  if (vis.length === 0) return clip([{ text: label, style: "dim" }], width);
  let h = histograms.get(vis);
  if (!h || h.width !== cells) {
    const fromUs = ix.atUs[vis[0]!]!;
    const spanUs = Math.max(1, ix.atUs[vis[vis.length - 1]!]! - fromUs);
    const counts = new Uint32Array(cells);
    for (let p = 0; p < vis.length; p++) counts[Math.min(cells - 1, Math.floor(((ix.atUs[vis[p]!]! - fromUs) / spanUs) * cells))]!++;
    h = { width: cells, counts, fromUs, spanUs };
    histograms.set(vis, h);
  }
  // Log scale: a burst of futexes must not flatten everything else to nothing.
  let max = 1;
  for (const c of h.counts) max = Math.max(max, c);
  const lmax = Math.log1p(max);
  const at = Math.min(cells - 1, Math.floor(((ix.atUs[s.cursorRow]! - h.fromUs) / h.spanUs) * cells));
  const spans: Span[] = [{ text: label, style: "dim" }];
  let run = "";
  for (let i = 0; i < cells; i++) {
    const c = h.counts[i]!;
    const ch = c === 0 ? " " : BARS[Math.max(1, Math.round((Math.log1p(c) / lmax) * (BARS.length - 1)))]!;
    if (i === at) {
      spans.push({ text: run, style: "signal" }, { text: ch === " " ? "│" : ch, style: "cursor" });
      run = "";
    } else run += ch;
  }
  spans.push({ text: run, style: "signal" });
  return clip(spans, width);
}

export function statusLine(s: ReplaySession, width: number): Line {
  const vis = s.visible;
  const right: Span[] = [];
  right.push({ text: s.playing ? ` ▶ PLAYING ×${s.speed} ` : ` PAUSED ×${s.speed} `, style: s.playing ? "playing" : "paused" });
  if (s.hidden > 0) right.push({ text: ` ${s.hidden} hidden (${formatFilter(s.filter) || "search"}) `, style: "bold" });
  if (s.search) right.push({ text: ` /${escapeText(s.search.pattern)} ${s.search.hits} hits${s.search.asFilter ? " filtering" : ""} ` });
  right.push({ text: ` ${vis.length ? s.cursorPos + 1 : 0}/${vis.length} #${s.cursorRow} ` });
  if (s.prompt) {
    const label = s.prompt.kind === "search" ? (s.prompt.asFilter ? "&" : "/") : s.prompt.kind === "filter" ? "filter: " : "go to: ";
    // What this trial can be filtered by, so kind= and src= values need no guessing.
    const hint =
      s.prompt.kind === "filter"
        ? `   src=${SOURCES.filter((_, i) => (s.index.counts[i] ?? 0) > 0).join(",")} kind=${s.index.kinds.slice(1, 12).join(",")}${s.index.kinds.length > 12 ? ",…" : ""} pid= sc= errno= failed`
        : s.prompt.kind === "goto"
          ? "   #123 (a record) or +1.5ms, -20us, 2s (from the exec)"
          : "";
    return clip([{ text: `${label}${escapeText(s.prompt.text)}`, style: "bold" }, { text: "█" }, { text: escapeText(hint), style: "dim" }], width);
  }
  const leftText = s.message ? ` ${escapeText(s.message)}` : ` ?:help q:quit /:search f:filter e/E:failure s/S:signal l/h:chain m:mark c:compare space:play y:copy`;
  const rightText = plain(right);
  const room = Math.max(0, width - rightText.length);
  return clip([{ text: fit(leftText, room), style: s.message ? "bold" : "dim" }, ...right], width);
}

export function helpLines(): Line[] {
  return HELP.map(([k, d]) => (k === "" ? [{ text: d, style: "bold" as const }] : [{ text: ` ${k.padEnd(16)}`, style: "bold" as const }, { text: d }]));
}

export const HELP: [string, string][] = [
  ["", "Navigation"],
  ["j k ↑ ↓", "next / previous row"],
  ["PgDn PgUp", "page"],
  ["g G Home End", "first / last row"],
  ["Tab", "next pane (timeline, findings, detail)"],
  ["[ ]", "previous / next trial"],
  ["{ }", "previous / next variant"],
  [": ", "go to #record or a time (+1.5ms, -20us, 2s) from the exec"],
  ["< > Backspace", "back / forward through jumps"],
  ["", "Search and filter"],
  ["/ &", "search (highlight in context) / search that filters"],
  ["n N", "next / previous hit"],
  ["f", "filter: src=strace,kernel kind=syscall pid=12 sc=futex errno=EAGAIN failed"],
  ["F P x", "failed only / this pid only / clear filters"],
  ["e E  s S  r R", "next / previous failure, signal, record cited by a finding"],
  ["", "Causality and marks"],
  ["l h  Enter", "follow the causal chain forward / back (Enter: forward)"],
  ["m  u U", "mark (times are shown from it) / next, previous mark"],
  ["Enter (findings)", "jump to the finding's first record; its interval is drawn ┃"],
  ["c", "compare with another trial of this variant, aligned on the exec"],
  ["", "Playback and copy"],
  ["space . ,", "play in real time (gaps are gaps) / step forward, back"],
  ["+ -", "faster / slower (×0.001 … ×1000)"],
  ["y Y", "copy the record (or the finding) / the range from the mark, as Markdown"],
  ["M", "mouse on / off"],
  ["q Ctrl-C", "quit"],
];

function clip(line: Line, width: number): Line {
  const out: Line = [];
  let used = 0;
  for (const sp of line) {
    if (used >= width) break;
    const t = sp.text.length + used > width ? sp.text.slice(0, width - used) : sp.text;
    out.push({ ...sp, text: t });
    used += t.length;
  }
  if (used < width) out.push({ text: " ".repeat(width - used), style: line[line.length - 1]?.style === "cursor" ? "cursor" : undefined });
  return out;
}

