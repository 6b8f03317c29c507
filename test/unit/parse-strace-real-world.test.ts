import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { StraceRecord, type SummaryRecord, type SyscallRecord } from "../../src/parse/records.js";
import { createStraceParser, parseStraceText } from "../../src/parse/strace.js";
import { summarizeFailures } from "../../src/parse/strace-summary.js";

// Excerpts of strace captures posted in public repositories (other strace versions, i386 and
// arm, -i, -c, strace ≤ 4.8 notes); test/fixtures/strace/real-world/README.md names the
// repository, commit and lines of each, as /work/shared/strace-corpus/SOURCES.md does.
const DIR = join(import.meta.dirname, "..", "fixtures", "strace", "real-world");
const FIXTURES = readdirSync(DIR)
  .filter((f) => f.endsWith(".log"))
  .sort();

const read = (name: string): string => readFileSync(join(DIR, name), "utf8");
const parse = (name: string): StraceRecord[] => parseStraceText(read(name));
const lines = (text: string): string[] => text.split("\n").filter((l) => l.trim() !== "");
const syscalls = (records: StraceRecord[]): SyscallRecord[] =>
  records.filter((r): r is SyscallRecord => r.kind === "syscall");
const summaries = (records: StraceRecord[]): SummaryRecord[] =>
  records.filter((r): r is SummaryRecord => r.kind === "summary");

describe("real-world strace excerpts", () => {
  it("are there to test", () => {
    expect(FIXTURES).toHaveLength(7);
  });

  for (const name of FIXTURES) {
    it(`${name}: parses to its golden records, nothing unparsed, whatever the chunking`, () => {
      const text = read(name);
      const records = parse(name);
      for (const r of records) StraceRecord.parse(r);
      expect(records.filter((r) => r.kind === "unparsed")).toEqual([]);

      const golden = join(DIR, name.replace(/\.log$/, ".golden.jsonl"));
      const actual = records.map((r) => JSON.stringify(r)).join("\n") + "\n";
      if (process.env.UPDATE_GOLDEN === "1") writeFileSync(golden, actual);
      expect(lines(actual).map((l) => JSON.parse(l))).toEqual(lines(readFileSync(golden, "utf8")).map((l) => JSON.parse(l)));

      const byChunk = createStraceParser();
      const viaChunks: StraceRecord[] = [];
      for (let i = 0; i < text.length; i += 97) viaChunks.push(...byChunk.pushText(text.slice(i, i + 97)));
      viaChunks.push(...byChunk.end());
      expect(viaChunks).toEqual(records);
    });
  }
});

describe("shapes other straces print", () => {
  it("skips -i instruction pointers, including [????????] once the task is gone", () => {
    const records = parse("android-arm32-i-y-x.log");
    expect(records).toHaveLength(lines(read("android-arm32-i-y-x.log")).length - 1); // the ptrace half
    expect(syscalls(records)[0]).toMatchObject({ syscall: "futex", args: ["0xeceedc34", "FUTEX_WAIT_PRIVATE", "4", "NULL"], ret: "0" });
    expect(records.at(-1)).toMatchObject({ kind: "killed", signal: "SIGKILL" });
  });

  it("keeps a -y return value whole, and closes a call cut by <ptrace(SYSCALL):…> with its resumption", () => {
    const calls = syscalls(parse("android-arm32-i-y-x.log"));
    expect(calls.find((r) => r.syscall === "openat")).toMatchObject({ ret: "35</dev/binder>", retNote: null, errno: null });
    const writev = calls.at(-1)!;
    expect(writev).toMatchObject({ syscall: "writev", ret: "?", resumed: true, unfinished: true });
    expect(writev.args).toHaveLength(3);
    expect(writev.args[0]).toBe("45<UNIX:[6532160]>");
    expect(writev.args[2]).toBe("4");
  });

  it("reads a -c table alone into summary records, the total row with syscall null", () => {
    const rows = summaries(parse("c-summary-zoom-f.log"));
    expect(rows).toHaveLength(lines(read("c-summary-zoom-f.log")).length - 3); // header and two rules
    expect(rows[0]).toEqual({
      kind: "summary",
      pid: null,
      ts: null,
      tsUs: null,
      syscall: "poll",
      timePercent: 59.63,
      totalUs: 1271_830170,
      usPerCall: 1981,
      calls: 641698,
      errors: 19,
    });
    expect(rows.find((r) => r.syscall === "gettid")).toMatchObject({ calls: 7144759, errors: 0 });
    const total = rows.at(-1)!;
    expect(total).toMatchObject({ syscall: null, timePercent: 100, calls: 9519789, errors: 105855 });
    const body = rows.slice(0, -1);
    expect(body.reduce((n, r) => n + r.calls, 0)).toBe(total.calls);
    expect(body.reduce((n, r) => n + r.errors, 0)).toBe(total.errors);
  });

  it("reads strace ≤ 4.8 attach and detach notes as tracer records with their pid", () => {
    const notes = parse("python-processpool-f-p-notes.log").filter((r) => r.kind === "tracer");
    expect(notes.map((r) => [r.pid, r.kind === "tracer" && r.text])).toEqual([
      [25557, "Process 25557 attached with 4 threads - interrupt to quit"],
      [25557, "Process 25557 detached"],
      [25590, "Process 25590 detached"],
      [25678, "Process 25678 detached"],
      [25679, "Process 25679 detached"],
    ]);
  });

  it("keeps an errno strace had no name for, and counts it as a failure", () => {
    const records = parse("perl-seccomp-unknown-syscall.log");
    expect(syscalls(records).find((r) => r.syscall === "syscall_317")).toMatchObject({
      ret: "-1",
      errno: "errno22",
      errnoText: null,
      retNote: null,
    });
    expect(summarizeFailures(records)).toContainEqual({ syscall: "syscall_317", path: null, errno: "errno22", count: 1, pids: [] });
  });

  it("splits a resumed call as one text: no blank-led argument, clone3 as on one line", () => {
    const nanosleeps = syscalls(parse("asterisk-f-p-unfinished.log")).filter((r) => r.syscall === "nanosleep");
    expect(nanosleeps).toHaveLength(3);
    for (const r of nanosleeps) expect(r).toMatchObject({ args: ["{1, 0}", "0x7ff0f4099bd0"], ret: "0", resumed: true });

    const [oneLine, halves] = syscalls(parse("nerdctl-go-f-tty.log"));
    expect(oneLine).toMatchObject({ syscall: "clone3", resumed: false, ret: "513335" });
    expect(halves).toMatchObject({ syscall: "clone3", resumed: true, ret: "513336" });
    expect(halves!.args).toHaveLength(oneLine!.args.length);
    expect(oneLine!.args).toEqual([expect.stringMatching(/^\{flags=.*\} => \{parent_tid=\[513335\]\}$/), "88"]);
    expect(halves!.args).toEqual([expect.stringMatching(/^\{flags=.*\} => \{parent_tid=\[513336\]\}$/), "88"]);
  });

  it("takes the path of i386 *64 calls from the syscall table", () => {
    const rows = summarizeFailures(parse("i386-thttpd.log"));
    expect(rows.filter((r) => r.syscall === "stat64").map((r) => r.path)).toEqual(["/usr/lib", "/usr/lib/cmov", "/usr/lib/sse2"]);
  });

  it("takes exit_group(N) = ? as a complete call: exit_group never returns", () => {
    for (const name of ["i386-thttpd.log", "perl-seccomp-unknown-syscall.log"]) {
      const exit = syscalls(parse(name)).find((r) => r.syscall === "exit_group");
      expect(exit, name).toMatchObject({ ret: "?", unfinished: false, resumed: false });
    }
  });
});
