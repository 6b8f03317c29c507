import { variantKey, type Finding } from "../evidence/schemas.js";
import { formatUs } from "./format.js";
import type { RawLocator } from "./raw-location.js";
import { sourceName, type ReplaySession } from "./session.js";

// "Copy for a bug report": Markdown a reader understands without the bundle, with enough
// of a reference (run id, trial, source#index, file@offset) to find the rest in it.

const fence = (lines: string[]): string => {
  const body = lines.join("\n");
  const ticks = body.includes("```") ? "~~~~" : "```";
  return `${ticks}\n${body}\n${ticks}`;
};

function context(s: ReplaySession): string {
  const t = s.trial;
  return `bundle \`${s.data.manifest.runId}\` · variant \`${variantKey(t.variant)}\` · trial \`${t.id}\` (observers: ${s.observerSet}, intent: ${t.request.intent})`;
}

function recordLines(s: ReplaySession, row: number, raw: RawLocator): string[] {
  const ix = s.index;
  const src = sourceName(ix, row);
  const r = s.record(row);
  const lines = r ? raw.locate(ix.trial, src, ix.record[row]!, r) : [];
  const where = lines.length ? ` (${lines.map((l) => `${l.file}@${l.offset}`).join(", ")})` : "";
  return [`${formatUs(ix.atUs[row]!)} ${src}#${ix.record[row]} ${ix.pid[row]! >= 0 ? `pid ${ix.pid[row]}` : ""}${where}`, ...(lines.length ? lines.map((l) => `  ${l.text}`) : [`  ${ix.text(row)}`])];
}

export function copyRecord(s: ReplaySession, raw: RawLocator, row = s.cursorRow): string {
  return `### Record #${row} of ${s.trial.id}\n\n${context(s)}\n\n${fence(recordLines(s, row, raw))}\n`;
}

/** The visible rows from the mark (or the cursor) to the cursor, at most 500. */
export function copyRange(s: ReplaySession, raw: RawLocator): string {
  const anchor = s.anchorRow ?? s.cursorRow;
  const [from, to] = anchor <= s.cursorRow ? [anchor, s.cursorRow] : [s.cursorRow, anchor];
  const rows = [...s.visible].filter((r) => r >= from && r <= to);
  const shown = rows.slice(0, 500);
  const more = rows.length > shown.length ? `\n_(${rows.length - shown.length} more rows not copied)_\n` : "";
  const span = s.index.atUs[to]! - s.index.atUs[from]!;
  return `### Records #${from}–#${to} of ${s.trial.id} (${formatUs(span, false)})\n\n${context(s)}\n\n${fence(shown.flatMap((r) => recordLines(s, r, raw)))}\n${more}`;
}

export function copyFinding(s: ReplaySession, f: Finding): string {
  const ev = f.evidence.map((e) => `- \`${e.trial}\` ${e.source}#${e.index}: \`${e.text.replace(/`/g, "'")}\``).join("\n");
  const m = f.measurements ? `\n\nMeasurements: ${Object.entries(f.measurements).map(([k, v]) => `${k}=${v}`).join(", ")}` : "";
  return `### ${f.claim} ${f.verdict.toUpperCase()} — ${f.statement}\n\nbundle \`${s.data.manifest.runId}\` · variant \`${variantKey(f.variant)}\`\n\n${f.summary}${m}\n\nEvidence:\n${ev || "- (none)"}\n`;
}

/** OSC 52: the terminal puts the text on the system clipboard (where it allows it). */
export const osc52 = (text: string): string => `\x1b]52;c;${Buffer.from(text, "utf8").toString("base64")}\x07`;
