import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { copyFinding } from "../../src/tui/copy.js";
import { parseFilter } from "../../src/tui/filter.js";
import { decodeArg } from "../../src/tui/records.js";
import { escapeText, fit, formatUs } from "../../src/tui/format.js";
import { handleKey } from "../../src/tui/keys.js";
import { openReplay } from "../../src/tui/open.js";
import { makeRawLocator, type RawLocator } from "../../src/tui/raw-location.js";
import { ReplaySession, type ReplayData } from "../../src/tui/session.js";
import { FLAG } from "../../src/tui/trial-index.js";
import { compareLandmarks, compareLines, detailLines, findingsLines, headerLines, histogramLine, layout, plain, statusLine, timelineLines } from "../../src/tui/view-model.js";
import { FIXTURE } from "./bundles.js";

describe("format", () => {
  test.each([
    [0, "+0µs"],
    [999, "+999µs"],
    [1000, "+1.000ms"],
    [-17284, "-17.284ms"],
    [1_004_894, "+1.004894s"],
  ])("formatUs(%d) = %s", (us, text) => expect(formatUs(us)).toBe(text));

  test.each([
    ["plain text", "plain text"],
    ["\x1b[2J", "\\x1b[2J"],
    ["a\tb\nc\rd", "a\\tb\\nc\\rd"],
    ["\x00\x07\x7f\x9b", "\\x00\\x07\\x7f\\x9b"],
    ["µs → ±", "µs → ±"],
    ["漢\u200e\u0301", "\\u{6f22}\\u{200e}\\u{301}"],
  ])("escapeText(%j) = %j: one cell per character, nothing a terminal acts on", (raw, shown) => expect(escapeText(raw)).toBe(shown));

  test("fit cuts with an ellipsis and pads", () => {
    expect(fit("abcdef", 4)).toBe("abc…");
    expect(fit("ab", 4)).toBe("ab  ");
  });
});

describe("decodeArg", () => {
  test.each([
    ["signal", "SIGTERM", "signal 15 = SIGTERM"],
    ["signal", "23", "signal 23 = SIGURG"],
    ["sigset", "~[RTMIN RT_1]", "every signal except SIGRTMIN, SIGRT_1"],
    ["sigset", "[TERM INT]", "{SIGTERM, SIGINT}"],
    ["sigset", "[]", "{no signal}"],
    ["fd", "3</etc/passwd>", "fd 3 → /etc/passwd"],
    ["flags", "O_RDONLY", null],
  ])("%s %j → %j", (role, value, decoded) => expect(decodeArg(role, value)).toBe(decoded));
});

describe("parseFilter", () => {
  test.each([
    ["", {}],
    ["src=strace,kernel", { sources: ["strace", "kernel"] }],
    ["kind=syscall pid=12,13 sc=futex errno=EAGAIN failed", { kinds: ["syscall"], pids: [12, 13], syscalls: ["futex"], errnos: ["EAGAIN"], failedOnly: true }],
  ])("%j", (text, expected) => {
    const parsed = parseFilter(text);
    expect("filter" in parsed && parsed.filter).toMatchObject(expected);
  });
  test.each([["src=nope"], ["pid=abc"], ["bogus"]])("%j is refused with a reason", (text) => {
    expect(parseFilter(text)).toHaveProperty("error");
  });
});

describe("layout", () => {
  test.each([
    [100, 30, 3],
    [80, 24, 3],
    [50, 12, 3],
    [40, 6, 0],
  ])("%d×%d: every row is given to exactly one pane, the timeline gets at least one", (w, h, findings) => {
    const l = layout(w, h, findings);
    expect(l.header + l.timeline + l.findings + l.detail + l.status).toBe(h);
    expect(l.timeline).toBeGreaterThanOrEqual(1);
  });
});

describe("panes for a session on a real bundle", () => {
  let data: ReplayData;
  let raw: RawLocator;
  const session = () => {
    const s = new ReplaySession(data);
    s.pageRows = 10;
    return s;
  };
  const t005 = (s: ReplaySession) => {
    for (let i = 0; i < 4; i++) s.switchTrial(1);
    expect(s.trial.id).toBe("t005");
    return s;
  };
  beforeAll(async () => {
    data = await openReplay(FIXTURE);
    raw = makeRawLocator(data.dir);
  });

  test("header: scenario, run, variant, trial, observers, verdicts at a glance", () => {
    const [l1, l2] = headerLines(session(), 200).map(plain);
    expect(l1).toContain("sigterm-race · sigterm-race-20261130T090254Z-67223f");
    expect(l2).toContain("trial t001 (1/8) S1✗ S2✓ S7✗ · namespace init=tini go1.26.8 (variant 1/1) · obs=none · aim:after-notify");
  });

  test("timeline: only the rows on screen, each with time from the exec, Δ, source, pid, text", () => {
    const s = t005(session());
    const lines = timelineLines(s, 120, 10).map(plain);
    expect(lines).toHaveLength(10);
    expect(lines.every((l) => l.length === 120)).toBe(true);
    expect(lines.join("\n")).toMatch(/ [+-][\d.]+(µs|ms) +[+-][\d.]+(µs|ms) (strace|kernel|probe|harn) /);
  });

  test("histogram: the visible rows over the trial's time, the cursor's slice marked", () => {
    const s = t005(session());
    const line = histogramLine(s, 100);
    expect(plain(line)).toHaveLength(100);
    expect(line.filter((sp) => sp.style === "cursor")).toHaveLength(1);
    expect(plain(line)).toMatch(/[▁▂▃▄▅▆▇█]/);
  });

  test("a filter hides rows and the status line counts them", () => {
    const s = t005(session());
    const all = s.visible.length;
    s.applyFilter("src=kernel");
    expect(s.hidden).toBe(all - s.visible.length);
    expect(s.hidden).toBeGreaterThan(0);
    expect(plain(statusLine(s, 140))).toContain(`${s.hidden} hidden (src=kernel)`);
    expect(timelineLines(s, 100, 10).map(plain).every((l) => l.includes("kernel"))).toBe(true);
  });

  test("status: PAUSED, then PLAYING; playback moves the cursor through real gaps at the chosen speed", () => {
    const s = t005(session());
    expect(plain(statusLine(s, 120))).toContain("PAUSED ×1");
    const start = s.cursorRow;
    const startUs = s.index.atUs[start]!;
    s.togglePlay();
    expect(plain(statusLine(s, 120))).toContain("PLAYING ×1");
    s.tick(2); // 2 ms of wall time at ×1 = 2000 µs of trial time
    expect(s.index.atUs[s.cursorRow]!).toBeLessThanOrEqual(startUs + 2000);
    expect(s.cursorRow).toBeGreaterThan(start);
    const row = s.cursorRow;
    s.togglePlay();
    s.tick(1000);
    expect(s.cursorRow).toBe(row);
  });

  test("detail: the raw line exactly as captured, at the byte offset it names", () => {
    const s = t005(session());
    s.seekFlag(FLAG.signal, true, "signal");
    const lines = detailLines(s, raw, 400).map(plain);
    const at = lines.findIndex((l) => l.startsWith("raw  "));
    const m = /^raw {2}(\S+)@(\d+)/.exec(lines[at]!)!;
    const bytes = readFileSync(join(FIXTURE, m[1]!));
    const line = bytes.subarray(Number(m[2]), bytes.indexOf(10, Number(m[2]))).toString("utf8");
    expect(lines[at + 1]!.trim()).toBe(escapeText(line).trim());
  });

  test("a finding: Enter jumps to its first record in this trial (or its first trial) and its interval is drawn", () => {
    const s = t005(session());
    for (let i = 0; i < 2; i++) s.switchTrial(1);
    expect(s.trial.id).toBe("t007");
    s.focus = "findings";
    s.findingPos = 1; // S2 cites t007
    handleKey(s, "enter", raw);
    const ref = s.variantFindings[1]!.evidence.find((e) => e.trial === "t007")!;
    expect(s.trial.id).toBe("t007");
    expect(s.cursorRow).toBe(s.index.rowOf(ref.source, ref.index));
    expect(s.focus).toBe("timeline");
    expect(s.findingInterval()).not.toBeNull();
    expect(timelineLines(s, 100, 10).map(plain).join("\n")).toContain("┃");
    expect(plain(findingsLines(s, 100, 3)[1]!)).toMatch(/[1-9]\d* here/);
    expect(detailLines(s, raw, 200).map(plain).join("\n")).toMatch(/cited by S2 CONFIRMED/);
    // S7 cites nothing in t007: its first record is in t004.
    s.focus = "findings";
    s.findingPos = 2;
    handleKey(s, "enter", raw);
    expect(s.trial.id).toBe("t004");
  });

  test("jumps go on the back stack: < and > walk it", () => {
    const s = t005(session());
    const a = s.cursorRow;
    s.goTo("+500ms");
    const b = s.cursorRow;
    expect(s.index.atUs[b]!).toBeGreaterThanOrEqual(500_000);
    s.goTo("#10");
    expect(s.cursorRow).toBe(10);
    s.goBack();
    expect(s.cursorRow).toBe(b);
    s.goBack();
    expect(s.cursorRow).toBe(a);
    s.goForward();
    expect(s.cursorRow).toBe(b);
  });

  test("marks: time relative to the mark, signed", () => {
    const s = t005(session());
    s.goTo("+500ms");
    s.toggleMark();
    s.moveTo(s.cursorPos - 3);
    expect(detailLines(s, raw, 200).map(plain)[0]).toMatch(/ · -[\d.]+(µs|ms) from mark #\d+/);
  });

  test("compare: the other trial of the variant, aligned on the exec", () => {
    const s = t005(session());
    s.compare = s.counterpart();
    expect(s.data.trials[s.order[s.compare!]!]!.id).toBe("t001");
    s.goTo("+500ms");
    const lines = compareLines(s, 160, 8).map(plain);
    expect(lines.every((l) => l.includes("│"))).toBe(true);
    const right = lines.map((l) => l.split("│")[1]!).join("\n");
    expect(right).toMatch(/\+50\d\.\d{3}ms/);
    // The observer effect: strace+kernel delayed the probe's Notify against the unobserved trial.
    expect(plain(compareLandmarks(s, 300))).toMatch(/notify \+[\d.]+ms vs \+[\d.]+ms \(\+[\d.]+ms\)/);
  });

  test("copy a finding: Markdown with its verdict, summary and evidence", () => {
    const s = session();
    const md = copyFinding(s, s.variantFindings[0]!);
    expect(md).toMatch(/^### S1 REFUTED — /);
    expect(md).toContain("Evidence:\n- `t0");
  });
});
