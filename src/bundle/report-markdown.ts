import type { EvidenceLine, FindingView, ReportModel } from "./report-model.js";
import { escapeNonPrintable, formatAtUs } from "./report-text.js";

// The Markdown report: pasted into a GitHub issue as is. GitHub refuses an issue body over
// 65,536 characters, so the renderer cuts evidence until the report fits and says so;
// quoted captures go in code blocks whose fence no captured backtick run can close, and
// prose is escaped so a `*` or `<` in a summary stays a character.

export interface MarkdownOptions {
  /** Characters; default GitHub's issue-body limit, less room for the reporter's own words. */
  maxChars?: number;
  /** Evidence records quoted per finding before the renderer starts cutting. */
  maxEvidence?: number;
}

/** GitHub's limit on an issue body is 65,536 characters; leave the reporter room to write. */
export const MARKDOWN_MAX_CHARS = 60_000;
/** Evidence records shown before the rest collapse into <details>. */
const INLINE_EVIDENCE = 3;

export function renderMarkdown(model: ReportModel, options: MarkdownOptions = {}): string {
  const maxChars = options.maxChars ?? MARKDOWN_MAX_CHARS;
  // Fewer evidence records per finding until the report fits; the trial table goes last.
  for (let perFinding = options.maxEvidence ?? 12; ; perFinding = Math.floor(perFinding / 2)) {
    for (const trialRows of [true, false]) {
      const text = renderWith(model, perFinding, trialRows);
      if (text.length <= maxChars || (perFinding === 0 && !trialRows)) return text;
    }
    if (perFinding === 0) return renderWith(model, 0, false);
  }
}

function renderWith(model: ReportModel, perFinding: number, trialRows: boolean): string {
  const out: string[] = [];
  const cut = { evidence: 0 };
  out.push(`### forensics report: ${inline(model.scenario)} (\`${model.runId}\`)`, "");
  out.push(
    `Bundle status **${model.status}**${model.reason ? ` (${inline(model.reason)})` : ""}, run ${inline(model.startedAt)}${model.finishedAt ? ` → ${inline(model.finishedAt)}` : ""}, forensics ${inline(model.toolVersion)}.` +
      (model.redaction ? ` Exported with redaction: ${inline(model.redaction)}.` : ""),
    "",
  );
  out.push("#### Reproduce", "", fenced(model.reproduce, "sh"), "");
  out.push("#### Environment", "", "| | as recorded |", "|---|---|", ...model.environment.map((e) => `| ${cell(e.name)} | ${cell(e.value)} |`), "");
  out.push("#### Verdicts", "", "| claim | variant | verdict | summary |", "|---|---|---|---|");
  for (const c of model.claims) for (const f of c.findings) out.push(`| ${cell(c.claim)} | ${cell(f.variant)} | **${f.verdict}** | ${cell(f.summary)} |`);
  out.push("");
  for (const c of model.claims) {
    out.push(`#### ${inline(c.claim)}: ${inline(c.statement)}`, "");
    for (const f of c.findings) out.push(...findingBlock(f, perFinding, cut), "");
  }
  out.push("#### Parameters", "", "| parameter | value |", "|---|---|", ...model.parameters.map((p) => `| ${cell(p.name)} | ${cell(p.value)} |`), "");
  if (trialRows && model.trials.length > 0) {
    out.push(`<details><summary>${model.trials.length} trials: phases and signals (µs after exec)</summary>`, "");
    out.push("| trial | variant | observers | intent | marks |", "|---|---|---|---|---|");
    for (const t of model.trials) {
      const marks = t.marks.map((m) => `${formatAtUs(m.atUs)} ${m.label}${m.result ? `: ${m.result}` : ""}`).join("; ");
      out.push(`| ${cell(t.id)} | ${cell(t.variant)} | ${cell(t.observers)} | ${cell(t.intent)} | ${cell(marks)} |`);
    }
    out.push("", "</details>", "");
  }
  const notes: string[] = [];
  if (cut.evidence > 0) notes.push(`${cut.evidence} evidence records left out to fit an issue body`);
  if (!trialRows && model.trials.length > 0) notes.push(`the table of ${model.trials.length} trials left out to fit an issue body`);
  if (notes.length > 0) out.push(`_Cut: ${notes.join("; ")}. The bundle holds everything (\`forensics report --format html\` shows more)._`, "");
  out.push(`<sub>Written by \`forensics report\` from the bundle's manifest, evidence and findings; quoted lines are its raw captures, exactly as recorded (non-printable bytes escaped).</sub>`, "");
  return out.join("\n");
}

function findingBlock(f: FindingView, perFinding: number, cut: { evidence: number }): string[] {
  const out = [`**${f.verdict}** · ${inline(f.variant)}: ${inline(f.summary)}`];
  const measured = f.measurements.filter(([, v]) => v !== null);
  if (measured.length > 0) out.push("", `Measured: ${measured.map(([k, v]) => `${inline(k)} = ${v}`).join(", ")}`);
  const shown = f.evidence.slice(0, perFinding);
  cut.evidence += f.evidence.length - shown.length;
  if (shown.length === 0) return out;
  const first = shown.slice(0, INLINE_EVIDENCE);
  const rest = shown.slice(INLINE_EVIDENCE);
  out.push("", fenced(first.map(evidenceText).join("\n"), "text"));
  if (rest.length > 0) out.push("", `<details><summary>${rest.length} more evidence record${rest.length === 1 ? "" : "s"}</summary>`, "", fenced(rest.map(evidenceText).join("\n"), "text"), "", "</details>");
  const more = f.evidence.length - shown.length;
  if (more > 0) out.push("", `_…and ${more} more in the bundle's findings.json._`);
  return out;
}

/** A comment line naming the record, then its raw lines as captured (or forensics' reading when none). */
export function evidenceText(e: EvidenceLine): string {
  const where = e.raw ? `${e.raw.file}` : `${e.source} record ${e.index} (as parsed; no raw line)`;
  const head = `# ${e.trial} ${formatAtUs(e.atUs)} ${where}${e.pid === null ? "" : ` pid ${e.pid}`}`;
  return [head, ...(e.raw ? e.raw.lines : [e.text])].map(escapeNonPrintable).join("\n");
}

/** A fenced block that no backtick run inside can close. */
function fenced(text: string, lang: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return `${fence}${lang}\n${text.split("\n").map(escapeNonPrintable).join("\n")}\n${fence}`;
}

/** Prose: Markdown's and HTML's special characters taken literally, on one line. */
function inline(s: string): string {
  return escapeNonPrintable(s.replace(/\s*\n\s*/g, " ")).replace(/[\\`*_[\]{}<>#|~!&]/g, (c) => (c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === "&" ? "&amp;" : `\\${c}`));
}

const cell = (s: string): string => inline(s) || " ";
