import { readFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { straceRecordLines } from "../../src/bundle/raw-lines.js";
import { loadReportModel } from "../../src/bundle/report.js";
import { renderHtml } from "../../src/bundle/report-html.js";
import { renderMarkdown } from "../../src/bundle/report-markdown.js";
import { reproduceCommand, type ReportModel } from "../../src/bundle/report-model.js";
import { escapeNonPrintable } from "../../src/bundle/report-text.js";
import { parseStraceText } from "../../src/parse/strace.js";
import { writeKernelRunBundle } from "../support/report-bundle.js";

const FIXTURES = join(import.meta.dirname, "../fixtures");
let root: string;
let model: ReportModel;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "forensics-report-"));
  model = await loadReportModel(await writeKernelRunBundle(join(root, "traces")));
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** The run id and the bundle's own write times change with every bundle written; the rest is the fixture's. */
const stable = (m: ReportModel): ReportModel => ({ ...m, runId: "sigterm-race-RUN", startedAt: "START", finishedAt: "FINISH" });

async function golden(name: string, actual: string): Promise<void> {
  const path = join(FIXTURES, "report", name);
  if (process.env.UPDATE_GOLDEN) await writeFile(path, actual);
  expect(actual).toBe(await readFile(path, "utf8"));
}

describe("report model of a real bundle", () => {
  it("takes the environment from the manifest's host facts and params", () => {
    const env = Object.fromEntries(model.environment.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ kernel: "6.18.44-fc-v669", "Go (probe)": "go1.26.8", runtime: "namespace", init: "none, tini", strace: "strace -- version 6.1" });
    expect(env.Docker).toMatch(/^Docker Engine/);
  });

  it("quotes each cited record's raw line exactly, stamped in µs after the exec", async () => {
    const cited = model.claims.flatMap((c) => c.findings.flatMap((f) => f.evidence));
    expect(cited.length).toBeGreaterThan(0);
    const kernel = cited.filter((e) => e.source === "kernel");
    expect(kernel.length).toBeGreaterThan(0);
    for (const e of cited) {
      expect(e.raw, `${e.trial} ${e.source}#${e.index}`).not.toBeNull();
      const variant = e.trial <= "t012" ? "namespace-none-go1.26.8" : "namespace-tini-go1.26.8";
      const file = await readFile(join(FIXTURES, "report/kernel-run/raw", variant, e.trial, e.raw!.file), "utf8");
      for (const line of e.raw!.lines) expect(file.split("\n")).toContain(line);
      expect(e.atUs).not.toBeNull();
    }
  });

  it("marks a handled SIGTERM's path in order, and the kernel's 'ignored' at the exec", () => {
    const t005 = model.trials.find((t) => t.id === "t005")!;
    // Go's own signals (SIGURG preemption…) are delivered too; the SIGTERM's path is the one in question.
    const kinds = t005.marks.filter((m) => !["generate", "deliver", "handled"].includes(m.kind) || m.label.includes("SIGTERM")).map((m) => m.kind);
    for (const [a, b] of [["exec", "handler"], ["handler", "notify"], ["notify", "send"], ["send", "generate"], ["generate", "deliver"], ["deliver", "handled"], ["handled", "exit"]]) {
      expect(kinds.indexOf(a as never), `${a} before ${b}`).toBeLessThan(kinds.indexOf(b as never));
    }
    expect(t005.marks.find((m) => m.kind === "generate" && m.label.startsWith("generate SIGTERM"))?.result).toBe("delivered");
    expect(t005.phases.map((p) => p.name)).toEqual(["before-handler", "before-notify", "after-notify"]);
    const t006 = model.trials.find((t) => t.id === "t006")!;
    expect(t006.marks.find((m) => m.kind === "generate" && m.label.startsWith("generate SIGTERM"))?.result).toBe("ignored");
  });

  it("rebuilds the command that reproduces the run", () => {
    expect(model.reproduce).toBe("forensics run sigterm-race --runtime namespace --init none,tini --go 1.26.8 --trials 1 --observe none,kernel,strace");
  });
});

describe("reproduceCommand", () => {
  it("names the target, its arguments, axes and scenario options, quoted for a shell", () => {
    const params = { runtime: "docker", inits: ["none", "docker-init"], go: ["unknown"], target: { kind: "binary", label: "/srv/my app", args: ["--listen", ":8080", "it's"] }, axes: { tz: ["CST-8", "unset"] }, trials: 3, observe: ["kernel", "strace+kernel"], options: { offsets: [0, 50] } };
    expect(reproduceCommand("sigterm-race", params)).toBe(
      "forensics run sigterm-race --runtime docker --init none,docker-init --binary '/srv/my app' --tz CST-8,unset --trials 3 --observe kernel,strace+kernel --offsets 0,50 -- --listen :8080 'it'\\''s'",
    );
  });
  it("maps a version 1 manifest's strace and offsetsUs to today's flags", () => {
    expect(reproduceCommand("sigterm-race", { runtime: "namespace", inits: ["none"], go: "go1.26.8", probeArgs: ["-notify-delay=200ms"], offsetsUs: [10, 20], trials: 1, strace: "both" })).toBe(
      "forensics run sigterm-race --runtime namespace --init none --go 1.26.8 --trials 1 --strace both --offsets 10,20",
    );
  });
});

describe("straceRecordLines", () => {
  it("gives every record its lines: both halves of a resumed call, the opening line of one that never returned", async () => {
    for (const name of ["go-sigterm-threads.log", "sleep-sigkill.log", "tricky.log"]) {
      const text = await readFile(join(FIXTURES, "strace", name), "utf8");
      const records = parseStraceText(text);
      const lines = straceRecordLines(text);
      expect(lines, name).toHaveLength(records.length);
      records.forEach((r, i) => {
        if (r.kind === "syscall" && r.resumed) {
          expect(lines[i]!.join("\n"), `${name} #${i}`).toContain(`${r.syscall}(`);
          expect(lines[i]!.at(-1)).toContain(`<... ${r.syscall} resumed>`);
        }
        if (r.kind === "syscall" && r.unfinished) expect(lines[i]!.join("\n")).toContain(`${r.syscall}(`);
      });
    }
  });
});

describe("straceRecordLines on the cases real logs rarely hold", () => {
  it("a call that never resumed, flushed by the next half of its pid, and a whole call the process died in", () => {
    const text = [
      "7 1.000001 futex(0x1, FUTEX_WAIT_PRIVATE, 0, NULL <unfinished ...>",
      "7 1.000002 nanosleep({tv_sec=1, tv_nsec=0},  <unfinished ...>",
      "8 1.000003 exit_group(2 <unfinished ...>) = ?",
      "7 1.000004 +++ killed by SIGKILL +++",
      "",
    ].join("\n");
    const records = parseStraceText(text);
    const lines = straceRecordLines(text);
    expect(lines).toHaveLength(records.length);
    const find = (syscall: string) => lines[records.findIndex((r) => r.kind === "syscall" && r.syscall === syscall)];
    expect(find("futex")).toEqual([text.split("\n")[0]]);
    expect(find("nanosleep")).toEqual([text.split("\n")[1]]);
    expect(find("exit_group")).toEqual([text.split("\n")[2]]);
  });
});

describe("renderers", () => {
  it("Markdown: golden", async () => {
    await golden("report.golden.md", renderMarkdown(stable(model)));
  });
  it("HTML: golden; self-contained (no script, no external reference)", async () => {
    const html = renderHtml(stable(model));
    await golden("report.golden.html", html);
    expect(html).not.toMatch(/<script|<link|<img|src=|url\(|@import/i);
    expect(html.match(/<svg /g)).toHaveLength(model.trials.length);
  });
  it("cut to their caps, and say what was cut", () => {
    const md = renderMarkdown(model, { maxChars: 6000 });
    expect(md.length).toBeLessThanOrEqual(6000);
    expect(md).toMatch(/_Cut: .*left out to fit an issue body/);
    const html = renderHtml(model, { maxBytes: 40_000 });
    expect(Buffer.byteLength(html)).toBeLessThanOrEqual(40_000);
    expect(html).toMatch(/Cut to keep this file small: \d+ of 7 trial timelines/);
  });
  it("escape what Markdown or HTML would take as markup, and non-printable bytes", () => {
    const evil = stable(model);
    const claim = evil.claims[0]!;
    const finding = claim.findings[0]!;
    const line = 'write(1, "```\\n", 4) = 4 \u001b[31m\u202e';
    evil.claims = [{ ...claim, statement: "a *b* <script>|x`y", findings: [{ ...finding, evidence: [{ ...finding.evidence[0]!, raw: { file: "strace.log", lines: [line] } }] }] }];
    const md = renderMarkdown(evil);
    expect(md).toContain("a \\*b\\* &lt;script&gt;\\|x\\`y");
    expect(md).toContain("````text");
    expect(md).toContain("\\x1b[31m\\u{202e}");
    const html = renderHtml(evil);
    expect(html).not.toContain("<script>");
    expect(html).toContain("\\x1b[31m");
    expect(escapeNonPrintable("a\tb\u0000é")).toBe("a\tb\\x00é");
  });
});
