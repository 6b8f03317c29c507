import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { StraceRecord, type SyscallRecord } from "../../src/parse/records.js";
import { createStraceParser, parseStraceText, pidFromFileName } from "../../src/parse/strace.js";

// Every fixture is a real strace capture (test/fixtures/strace/README.md says how each was
// made). Goldens are the parser's output, reviewed by eye; UPDATE_GOLDEN=1 rewrites them.
const DIR = join(import.meta.dirname, "..", "fixtures", "strace");
const FIXTURES = [
  ...readdirSync(DIR).filter((f) => f.endsWith(".log")),
  ...readdirSync(join(DIR, "ff"))
    .filter((f) => !f.endsWith(".golden.jsonl"))
    .map((f) => join("ff", f)),
].sort();

const read = (name: string): string => readFileSync(join(DIR, name), "utf8");
const parseFixture = (name: string): StraceRecord[] => parseStraceText(read(name), { pid: pidFromFileName(name) });
const lines = (text: string): string[] => text.split("\n").filter((l) => l.trim() !== "");
const syscalls = (records: StraceRecord[]): SyscallRecord[] =>
  records.filter((r): r is SyscallRecord => r.kind === "syscall");

/** Exact µs of a printed stamp, by BigInt arithmetic on its digits. */
function stampUs(stamp: string): number {
  const [clock, frac = ""] = stamp.split(".");
  const seconds = clock!.split(":").reduce((acc, part) => acc * 60n + BigInt(part), 0n);
  return Number(seconds * 1_000_000n + BigInt(frac.padEnd(6, "0").slice(0, 6)));
}

describe("strace fixtures match their golden files", () => {
  it("finds the fixtures", () => {
    expect(FIXTURES.length).toBeGreaterThanOrEqual(10);
  });

  for (const name of FIXTURES) {
    it(name, () => {
      const records = parseFixture(name);
      for (const r of records) StraceRecord.parse(r);
      const golden = join(DIR, name.replace(/\.log$/, "") + ".golden.jsonl");
      const actual = records.map((r) => JSON.stringify(r)).join("\n") + "\n";
      if (process.env.UPDATE_GOLDEN === "1") writeFileSync(golden, actual);
      const expected = readFileSync(golden, "utf8");
      expect(lines(actual).map((l) => JSON.parse(l))).toEqual(lines(expected).map((l) => JSON.parse(l)));
    });
  }
});

describe("strace parser invariants, on every fixture", () => {
  for (const name of FIXTURES) {
    it(`${name}: one record per line except first halves; nothing unparsed; chunking does not matter`, () => {
      const text = read(name);
      const records = parseFixture(name);
      const firstHalves = lines(text).filter((l) => l.endsWith("<unfinished ...>")).length;
      // A first half makes no record of its own unless it never resumes (end() emits it).
      const neverResumed = syscalls(records).filter((r) => r.unfinished && !r.resumed && r.ret === null).length;
      const detached = lines(text).filter((l) => l.endsWith("<detached ...>")).length;
      // A -c table's header and rules only draw the table; its rows are records.
      const tableRules = lines(text).filter((l) => /^% time +seconds/.test(l) || /^-+(?: +-+){5}$/.test(l)).length;
      expect(records.length).toBe(lines(text).length - firstHalves + neverResumed - detached - tableRules);
      expect(records.filter((r) => r.kind === "unparsed")).toEqual([]);

      const byLine = createStraceParser({ pid: pidFromFileName(name) });
      const viaPush = [...text.split("\n").flatMap((l) => byLine.push(l)), ...byLine.end()];
      expect(viaPush).toEqual(records);

      const byChunk = createStraceParser({ pid: pidFromFileName(name) });
      const viaChunks: StraceRecord[] = [];
      for (let i = 0; i < text.length; i += 777) viaChunks.push(...byChunk.pushText(text.slice(i, i + 777)));
      viaChunks.push(...byChunk.end());
      expect(viaChunks).toEqual(records);

      // failedArgsOnly: the same records, with the arguments of calls that did not fail
      // either all there or left out.
      const lazy = parseStraceText(text, { pid: pidFromFileName(name), failedArgsOnly: true });
      expect(lazy.length).toBe(records.length);
      lazy.forEach((r, i) => {
        const full = records[i]!;
        if (r.kind !== "syscall" || full.kind !== "syscall" || full.errno !== null || r.args.length === full.args.length) {
          expect(r).toEqual(full);
        } else {
          expect({ ...r, args: full.args }).toEqual(full);
          expect(r.args).toEqual([]);
        }
      });
    });
  }

  it("takes every stamp from its digits: -ttt, -tt, -t and -r", () => {
    const cases: [string, RegExp][] = [
      ["go-sigterm-threads.log", /^(?:\[pid +\d+\] )?(\d+\.\d{6}) /],
      ["go-sigterm-early.log", /^\d+ +(\d\d:\d\d:\d\d\.\d{6}) /],
      ["date-tz-missing.log", /^(\d\d:\d\d:\d\d) /],
      ["ls-relative.log", /^ *(\d+\.\d{6}) /],
    ];
    for (const [name, stampRe] of cases) {
      let checked = 0;
      for (const line of lines(read(name))) {
        const stamp = stampRe.exec(line)?.[1];
        if (stamp === undefined || line.includes("strace: ")) continue;
        const p = createStraceParser();
        const [first] = [...p.push(line), ...p.end()];
        expect(first?.tsUs, line).toBe(stampUs(stamp));
        expect(first?.ts, line).toBe(Number(stamp.includes(":") ? stampUs(stamp) / 1e6 : stamp));
        checked++;
      }
      expect(checked, name).toBeGreaterThan(10);
    }
  });
});

describe("strace parser on shapes taken from the fixtures", () => {
  it("joins <unfinished ...> and <... resumed> per pid, keeping the first half's stamp", () => {
    const text = read("go-sigterm-threads.log");
    const start = lines(text).find((l) => /^\[pid +\d+\] \S+ rt_sigprocmask\(.*<unfinished \.\.\.>$/.test(l))!;
    const [, pid, stamp] = /^\[pid +(\d+)\] (\S+) /.exec(start)!;
    const call = syscalls(parseFixture("go-sigterm-threads.log")).find((r) => r.tsUs === stampUs(stamp!));
    expect(call).toMatchObject({ pid: Number(pid), syscall: "rt_sigprocmask", resumed: true, unfinished: false, ret: "0" });
    expect(call!.args).toHaveLength(4);
    expect(call!.durationUs).toBeGreaterThan(0);
  });

  it("joins a line that a tracer note cut in two, and keeps the note", () => {
    const records = parseFixture("go-sigterm-threads.log");
    const text = lines(read("go-sigterm-threads.log"));
    const cut = text.findIndex((l, i) => /strace: Process \d+ attached$/.test(l) && text[i + 1]!.startsWith(", "));
    const notePid = Number(/Process (\d+) attached$/.exec(text[cut]!)![1]);
    expect(records).toContainEqual({ kind: "tracer", pid: notePid, ts: null, tsUs: null, text: `Process ${notePid} attached` });
    const clone = syscalls(records).find((r) => r.syscall === "clone" && r.ret === String(notePid))!;
    expect(clone.args).toEqual([expect.stringMatching(/^child_stack=0x/), expect.stringMatching(/^flags=CLONE_VM\|/), expect.stringMatching(/^tls=0x/)]);
  });

  it("resumes a call printed before the first thread existed (no pid) under the pid of its <... resumed> line", () => {
    const text = lines(read("go-sigterm-threads-unprefixed.log"));
    const cut = text.findIndex((l, i) => /^\d+\.\d+ clone\(.*strace: Process \d+ attached$/.test(l) && text[i + 1] === " <unfinished ...>");
    const stamp = /^(\S+) /.exec(text[cut]!)![1]!;
    const resumedBy = text.find((l) => /^\[pid +\d+\] \S+ <\.\.\. clone resumed>/.test(l))!;
    const clone = syscalls(parseFixture("go-sigterm-threads-unprefixed.log")).find((r) => r.tsUs === stampUs(stamp));
    expect(clone).toMatchObject({ syscall: "clone", resumed: true, pid: Number(/^\[pid +(\d+)\]/.exec(resumedBy)![1]) });
    expect(clone!.args.at(-1)).toMatch(/^tls=0x/);
  });

  it("reads errno, its text and -T durations", () => {
    const zone = syscalls(parseFixture("date-tz-missing.log")).find((r) => r.args[1] === '"/usr/share/zoneinfo/Nowhere/Zone"');
    expect(zone).toMatchObject({ syscall: "openat", ret: "-1", errno: "ENOENT", errnoText: "No such file or directory", retNote: null });
    const tricky = syscalls(parseFixture("tricky.log"));
    expect(tricky.find((r) => r.syscall === "pause")).toMatchObject({
      ret: "?",
      errno: "ERESTARTNOHAND",
      errnoText: "To be restarted if no handler",
    });
    expect(tricky.find((r) => r.syscall === "pause")!.durationUs).toBeGreaterThanOrEqual(990_000);
    expect(tricky.find((r) => r.syscall === "poll")).toMatchObject({ ret: "0", errno: null, retNote: "(Timeout)" });
    expect(tricky.find((r) => r.syscall === "fcntl")).toMatchObject({ retNote: "(flags O_RDONLY)" });
    expect(tricky.find((r) => r.syscall === "connect" && r.errno === "ECONNREFUSED")!.args[0]).toMatch(/^3<TCP:\[\d+\]>$/);
    const futex = syscalls(parseFixture("go-sigterm-threads.log")).find((r) => r.errno === "ERESTARTSYS");
    expect(futex).toMatchObject({ ret: "?", errnoText: "To be restarted if SA_RESTART is set" });
  });

  it("reads a -T call the task died in: no duration, no note", () => {
    // Copied from a capture: another thread's exit_group ended this futex wait.
    const [record] = parseStraceText(
      [
        "[pid 11019] 1795648135.460682 futex(0x1a63b4380160, FUTEX_WAIT_PRIVATE, 0, NULL <unfinished ...>",
        "[pid 11019] 1795648135.460929 <... futex resumed>) = ? <unavailable>",
      ].join("\n"),
    );
    expect(record).toMatchObject({ ret: "?", retNote: null, durationUs: null, resumed: true, unfinished: true, tsUs: 1795648135460682 });
    const [cut] = parseStraceText(
      [
        "[pid 7] 1795648135.460682 nanosleep({tv_sec=0, tv_nsec=20000},  <unfinished ...>",
        "[pid 7] 1795648135.460929 <... nanosleep resumed> <unfinished ...>) = ? <unavailable>",
      ].join("\n"),
    );
    expect(cut).toMatchObject({ args: ["{tv_sec=0, tv_nsec=20000}"], ret: "?", retNote: null, unfinished: true });
  });

  it("keeps strings, comments and -y/-yy decorations whole", () => {
    const tricky = syscalls(parseFixture("tricky.log"));
    const writes = tricky.filter((r) => r.syscall === "write");
    expect(writes[0]!.args).toEqual(["2</dev/null<char 1:3>>", String.raw`"a, (b) {c} [d] 3<x> \"q\"\\ /*"`, "27"]);
    expect(writes[1]!.args[1]).toMatch(/^"tab\\there \\"quoted\\".*"\.\.\.$/);
    expect(tricky.find((r) => r.syscall === "openat" && r.args[1] === '"/etc/hostname"')!.ret).toBe("3</etc/hostname>");
    expect(tricky.find((r) => r.syscall === "pipe2")!.args[0]).toMatch(/^\[3<pipe:\[\d+\]>, 4<pipe:\[\d+\]>\]$/);
    const execve = syscalls(parseFixture("date-tz-missing.log"))[0]!;
    expect(execve.args[2]).toMatch(/^0x[0-9a-f]+ \/\* \d+ vars \*\/$/);
  });

  it("reads signals with their siginfo", () => {
    const signals = parseFixture("go-sigterm-threads.log").filter((r) => r.kind === "signal");
    expect(signals.find((s) => s.signal === "SIGTERM")).toMatchObject({
      info: { si_signo: "SIGTERM", si_code: "SI_USER", si_pid: expect.stringMatching(/^\d+$/), si_uid: "0" },
    });
    const alarm = parseFixture("tricky.log").find((r) => r.kind === "signal" && r.signal === "SIGALRM");
    expect(alarm).toMatchObject({ info: { si_signo: "SIGALRM", si_code: "SI_KERNEL" } });
  });

  it("reads exits, deaths by signal and core dumps", () => {
    expect(parseFixture("tricky.log").at(-1)).toMatchObject({ kind: "exit", exitCode: 3 });
    expect(parseFixture("sh-kill-term.log").at(-1)).toMatchObject({ kind: "killed", signal: "SIGTERM", coreDumped: false });
    expect(parseFixture("sh-abort-core.log").at(-1)).toMatchObject({ kind: "killed", signal: "SIGABRT", coreDumped: true });
    const early = parseFixture("go-sigterm-early.log");
    // The Go runtime re-raises a SIGTERM that arrives before signal.Notify: every thread dies.
    const threads = new Set(early.map((r) => r.pid));
    const killed = early.filter((r) => r.kind === "killed");
    expect(killed.map((r) => r.kind === "killed" && r.signal)).toEqual(Array(threads.size).fill("SIGTERM"));
    const sleep = parseFixture("sleep-sigkill.log");
    expect(sleep.at(-1)).toMatchObject({ kind: "killed", signal: "SIGKILL" });
    expect(sleep.at(-2)).toMatchObject({ syscall: "clock_nanosleep", ret: "?", unfinished: true, resumed: false });
  });

  it("reads strace's own notes, and a call strace detached from", () => {
    const records = parseFixture("sleep-attach-detach.log");
    expect(records.map((r) => r.kind)).toEqual(["tracer", "tracer", "syscall"]);
    expect(records[1]).toMatchObject({ text: expect.stringMatching(/^Process \d+ detached$/) });
    expect(records[2]).toMatchObject({ syscall: "restart_syscall", ret: null, unfinished: true, args: ["<... resuming interrupted read ...>"] });
  });

  it("reads the -C table after the trace into summary records that agree with the trace", () => {
    const records = parseFixture("ls-summary-after.log");
    const exit = records.findIndex((r) => r.kind === "exit");
    const rows = records.slice(exit + 1);
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.every((r) => r.kind === "summary")).toBe(true);
    // strace counts a call when it returns, which exit_group never does.
    const calls = syscalls(records.slice(0, exit)).filter((c) => c.syscall !== "exit_group");
    const total = rows.at(-1);
    expect(total).toMatchObject({ syscall: null, timePercent: 100, calls: calls.length, errors: calls.filter((c) => c.errno).length });
    const openat = rows.find((r) => r.kind === "summary" && r.syscall === "openat");
    expect(openat).toMatchObject({
      calls: calls.filter((c) => c.syscall === "openat").length,
      errors: calls.filter((c) => c.syscall === "openat" && c.errno).length,
    });
  });

  it("takes the pid of -ff files from their name", () => {
    const files = FIXTURES.filter((f) => f.startsWith("ff"));
    expect(files).toHaveLength(2);
    for (const name of files) {
      const pid = pidFromFileName(name)!;
      expect(parseFixture(name).every((r) => r.pid === pid)).toBe(true);
    }
    const exits = files.map((f) => parseFixture(f).at(-1));
    expect(exits).toEqual(expect.arrayContaining([expect.objectContaining({ kind: "exit", exitCode: 2 })]));
  });
});

describe("strace parser on input it does not understand", () => {
  it("turns every other line into an unparsed record, keeping the text and never throwing", () => {
    const json = readFileSync(join(import.meta.dirname, "..", "..", "package.json"), "utf8");
    const records = parseStraceText(json);
    expect(records).toHaveLength(lines(json).length);
    expect(records.every((r) => r.kind === "unparsed")).toBe(true);
    expect(records.map((r) => r.kind === "unparsed" && r.line)).toEqual(lines(json));

    const binary = String.fromCharCode(...Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
    expect(() => parseStraceText(binary)).not.toThrow();
  });

  it("explains what it could not read", () => {
    const records = parseStraceText(
      ['read(3, "unterminated, 10) = 10', "<... futex resumed>) = 0", "foo(1) 0", "--- SIGTERM broken ---", "+++ vanished +++"].join("\n"),
    );
    expect(records.map((r) => r.kind === "unparsed" && r.reason)).toEqual([
      "unbalanced quotes or brackets in the arguments",
      '"<... futex resumed>" without its "<unfinished ...>" line',
      'no "= <return value>" after the arguments',
      "signal line without a {siginfo} structure",
      'unknown "+++ … +++" line',
    ]);
  });

  it("survives every line of a fixture cut at every length", () => {
    for (const line of lines(read("tricky.log"))) {
      for (let n = 0; n <= line.length; n++) {
        const p = createStraceParser();
        const records = [...p.push(line.slice(0, n)), ...p.end()];
        for (const r of records) StraceRecord.parse(r);
      }
    }
  });

  it("finds the -ff pid in a file name, and nothing else", () => {
    expect(pidFromFileName("/tmp/trace.1234")).toBe(1234);
    expect(pidFromFileName(basename("dir/sh-ls.25842"))).toBe(25842);
    expect(pidFromFileName("trace.log")).toBeUndefined();
    expect(pidFromFileName("trace.0")).toBeUndefined();
  });
});
