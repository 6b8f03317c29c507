import type { EvidenceLine, FindingView, ReportModel, TrialMark, TrialView } from "./report-model.js";
import { escapeNonPrintable, formatAtUs, formatSpan } from "./report-text.js";

// The HTML report: one file, readable offline and attachable anywhere. No script, no
// external asset (styles inline, timelines inline SVG with <title> tooltips, <details> to
// fold), and bounded: past the cap, trial timelines and then evidence are left out, and the
// report says how many.

export interface HtmlOptions {
  /** Bytes (UTF-8) of the whole file. */
  maxBytes?: number;
  maxEvidence?: number;
}

export const HTML_MAX_BYTES = 2 * 1024 * 1024;

export function renderHtml(model: ReportModel, options: HtmlOptions = {}): string {
  const maxBytes = options.maxBytes ?? HTML_MAX_BYTES;
  let perFinding = options.maxEvidence ?? 50;
  for (;;) {
    const cut = { evidence: 0, trials: 0 };
    const head = renderHead(model, perFinding, cut);
    // Timelines are added while they fit, leaving room for the note and the closing tags.
    const budget = maxBytes - bytes(head) - 2048;
    const svgs: string[] = [];
    let used = 0;
    for (const t of model.trials) {
      const section = trialSection(t, svgs.length < 6);
      if (used + bytes(section) > budget) {
        cut.trials = model.trials.length - svgs.length;
        break;
      }
      used += bytes(section);
      svgs.push(section);
    }
    if (budget >= 0 || perFinding === 0) return [head, ...svgs, footer(model, cut)].join("\n");
    perFinding = Math.floor(perFinding / 2);
  }
}

const bytes = (s: string): number => Buffer.byteLength(s);

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#1b1f24}
h1{font-size:1.4em}h2{font-size:1.2em;border-bottom:1px solid #d0d7de;padding-bottom:.2em;margin-top:1.6em}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;vertical-align:top}
pre{background:#f6f8fa;padding:.6em;overflow-x:auto;font:12px/1.4 ui-monospace,monospace;white-space:pre}
code{font:12px ui-monospace,monospace;background:#f6f8fa;padding:0 .2em}
.v-confirmed{color:#1a7f37;font-weight:600}.v-refuted{color:#cf222e;font-weight:600}.v-inconclusive{color:#9a6700;font-weight:600}
.note{color:#57606a}.cut{background:#fff8c5;padding:.4em .6em;border:1px solid #d4a72c}
svg{display:block;margin:.3em 0 1em}svg text{font:11px system-ui,sans-serif}`;

function renderHead(model: ReportModel, perFinding: number, cut: { evidence: number }): string {
  const out: string[] = [];
  out.push("<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', `<title>forensics report: ${esc(model.runId)}</title>`, `<style>${STYLE}</style></head><body>`);
  out.push(`<h1>forensics report: ${esc(model.scenario)} <code>${esc(model.runId)}</code></h1>`);
  out.push(
    `<p>Bundle status <b>${esc(model.status)}</b>${model.reason ? ` (${esc(model.reason)})` : ""}, run ${esc(model.startedAt)}${model.finishedAt ? ` → ${esc(model.finishedAt)}` : ""}, forensics ${esc(model.toolVersion)}.${model.redaction ? ` Exported with redaction: ${esc(model.redaction)}.` : ""}</p>`,
  );
  out.push("<h2>Reproduce</h2>", `<pre>${esc(model.reproduce)}</pre>`);
  out.push("<h2>Environment</h2>", table(["", "as recorded"], model.environment.map((e) => [esc(e.name), esc(e.value)])));
  out.push("<h2>Verdicts</h2>", table(["claim", "variant", "verdict", "summary"], model.claims.flatMap((c) => c.findings.map((f) => [esc(c.claim), esc(f.variant), verdict(f.verdict), esc(f.summary)]))));
  for (const c of model.claims) {
    out.push(`<h2>${esc(c.claim)}: ${esc(c.statement)}</h2>`);
    for (const f of c.findings) out.push(findingHtml(f, perFinding, cut));
  }
  out.push("<h2>Parameters</h2>", table(["parameter", "value"], model.parameters.map((p) => [esc(p.name), `<code>${esc(p.value)}</code>`])));
  out.push(`<h2>Trials</h2><p class="note">Time axis: µs after the trial's exec, logarithmic past 10 µs so the first milliseconds (the runtime's handler installation) stay visible beside the seconds after. Hover a mark for its exact time.</p>`);
  return out.join("\n");
}

function findingHtml(f: FindingView, perFinding: number, cut: { evidence: number }): string {
  const shown = f.evidence.slice(0, perFinding);
  cut.evidence += f.evidence.length - shown.length;
  const measured = f.measurements.filter(([, v]) => v !== null);
  const parts = [`<h3>${verdict(f.verdict)} · ${esc(f.variant)}</h3>`, `<p>${esc(f.summary)}</p>`];
  if (measured.length > 0) parts.push(`<p class="note">Measured: ${measured.map(([k, v]) => `${esc(k)} = ${v}`).join(", ")}</p>`);
  if (shown.length > 0) parts.push(`<details${shown.length <= 6 ? " open" : ""}><summary>${shown.length} evidence record${shown.length === 1 ? "" : "s"}</summary><pre>${shown.map(evidenceHtml).join("\n")}</pre></details>`);
  if (f.evidence.length > shown.length) parts.push(`<p class="note">…and ${f.evidence.length - shown.length} more in the bundle's findings.json.</p>`);
  return parts.join("\n");
}

function evidenceHtml(e: EvidenceLine): string {
  const where = e.raw ? e.raw.file : `${e.source} record ${e.index} (as parsed; no raw line)`;
  const head = `<span class="note"># ${esc(e.trial)} ${esc(formatAtUs(e.atUs))} ${esc(where)}${e.pid === null ? "" : ` pid ${e.pid}`}</span>`;
  return [head, ...(e.raw ? e.raw.lines : [e.text]).map(esc)].join("\n");
}

function footer(model: ReportModel, cut: { evidence: number; trials: number }): string {
  const notes: string[] = [];
  if (cut.trials > 0) notes.push(`${cut.trials} of ${model.trials.length} trial timelines`);
  if (cut.evidence > 0) notes.push(`${cut.evidence} evidence records`);
  const note = notes.length > 0 ? `<p class="cut">Cut to keep this file small: ${notes.join(" and ")} left out. The bundle holds everything.</p>` : "";
  return `${note}\n<p class="note">Written by forensics report from the bundle's manifest, evidence and findings; quoted lines are its raw captures, exactly as recorded (non-printable bytes escaped).</p>\n</body></html>\n`;
}

const table = (head: string[], rows: string[][]): string =>
  `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("")}</tbody></table>`;

const verdict = (v: string): string => `<span class="v-${esc(v)}">${esc(v)}</span>`;

/** Text and attribute values: the five XML specials, and non-printables escaped as in the Markdown. */
export const esc = (s: string): string =>
  escapeNonPrintable(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

// ---- the SVG timeline ----

const W = 1000;
const LEFT = 8;
const PLOT = W - 2 * LEFT;
const BAND_Y = 18;
const BAND_H = 18;
const ROW_H = 14;
const CHAR_W = 6;

const COLORS: Record<TrialMark["kind"], string> = {
  exec: "#24292f",
  handler: "#8250df",
  notify: "#0969da",
  send: "#bc4c00",
  generate: "#9a6700",
  deliver: "#1a7f37",
  handled: "#1f883d",
  exit: "#cf222e",
};
const RESULT_COLORS: Record<string, string> = { delivered: "#1a7f37", ignored: "#cf222e" };
const PHASE_FILL: Record<string, string> = { "before-handler": "#ffebe9", "before-notify": "#fff8c5", "after-notify": "#dafbe1" };

/** Symlog: linear below 10 µs, logarithmic above, so 300 µs and 500 ms share one axis. */
function scale(endUs: number): (us: number) => number {
  const f = (us: number) => Math.log10(1 + Math.max(0, us) / 10);
  const max = f(Math.max(endUs, 100));
  return (us) => LEFT + (f(us) / max) * PLOT;
}

const TICKS: [number, string][] = [
  [0, "0"],
  [100, "100 µs"],
  [1000, "1 ms"],
  [10_000, "10 ms"],
  [100_000, "100 ms"],
  [1_000_000, "1 s"],
  [10_000_000, "10 s"],
  [100_000_000, "100 s"],
];

function trialSection(t: TrialView, open: boolean): string {
  const title = `${esc(t.id)} · ${esc(t.variant)} · observers ${esc(t.observers)} · ${esc(t.intent)} · origin ${esc(t.originSource)}`;
  return `<details${open ? " open" : ""}><summary>${title}</summary>\n${trialSvg(t)}\n</details>`;
}

/** Phases as bands, every mark as a line down to its label; labels stack in rows so none overlap. */
export function trialSvg(t: TrialView): string {
  const x = scale(t.endUs);
  const rowsEnd: number[] = [];
  const placed = t.marks.map((m) => {
    const mx = x(m.atUs);
    const label = `${m.label}${m.result ? `: ${m.result}` : ""}`;
    const width = label.length * CHAR_W + 6;
    const anchorRight = mx + width > W;
    const from = anchorRight ? mx - width : mx;
    let row = rowsEnd.findIndex((end) => end < from);
    if (row < 0) row = rowsEnd.push(0) - 1;
    rowsEnd[row] = from + width;
    return { m, mx, label, row, anchorRight };
  });
  const axisY = BAND_Y + BAND_H + 4;
  const labelsY = axisY + 22;
  const height = labelsY + rowsEnd.length * ROW_H + 6;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" role="img" aria-label="timeline of trial ${esc(t.id)}">`];
  out.push(`<text x="${LEFT}" y="12">${esc(t.id)}: phases and signals, µs after exec (ends ${esc(formatSpan(t.endUs))})</text>`);
  for (const p of t.phases) {
    const x0 = x(p.fromUs);
    const w = Math.max(1, x(p.toUs) - x0);
    out.push(
      `<rect x="${n(x0)}" y="${BAND_Y}" width="${n(w)}" height="${BAND_H}" fill="${PHASE_FILL[p.name] ?? "#eaeef2"}" stroke="#d0d7de"><title>${esc(p.name)}: ${formatAtUs(p.fromUs)} → ${formatAtUs(p.toUs)}</title></rect>`,
    );
    if (w > p.name.length * CHAR_W) out.push(`<text x="${n(x0 + 3)}" y="${BAND_Y + 13}">${esc(p.name)}</text>`);
  }
  out.push(`<line x1="${LEFT}" y1="${axisY}" x2="${LEFT + PLOT}" y2="${axisY}" stroke="#8c959f"/>`);
  for (const [tick, name] of TICKS.filter(([v]) => v <= Math.max(t.endUs, 100))) {
    const tx = x(tick);
    out.push(`<line x1="${n(tx)}" y1="${axisY}" x2="${n(tx)}" y2="${axisY + 4}" stroke="#8c959f"/><text x="${n(tx + 2)}" y="${axisY + 14}" fill="#57606a">${name}</text>`);
  }
  for (const p of placed) {
    const color = p.m.kind === "generate" ? (RESULT_COLORS[p.m.result ?? ""] ?? "#9a6700") : COLORS[p.m.kind];
    const y = labelsY + p.row * ROW_H;
    out.push(
      `<g><title>${esc(`${formatAtUs(p.m.atUs)} ${p.label}`)}</title><line x1="${n(p.mx)}" y1="${BAND_Y}" x2="${n(p.mx)}" y2="${y - 9}" stroke="${color}" stroke-width="1.5"/>` +
        `<text x="${n(p.mx + (p.anchorRight ? -3 : 3))}" y="${y}" fill="${color}"${p.anchorRight ? ' text-anchor="end"' : ""}>${esc(p.label)}</text></g>`,
    );
  }
  out.push("</svg>");
  return out.join("\n");
}

const n = (v: number): string => (Math.round(v * 10) / 10).toString();
