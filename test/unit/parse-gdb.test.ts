import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createGdbObserver, GDB_LOG } from "../../src/capture/gdb.js";
import { GdbRecord, type GdbRecordOf } from "../../src/parse/gdb-records.js";
import { parseGdbText } from "../../src/parse/gdb.js";

// Transcripts the harness's GdbSession captured from the signotify probe (go1.26.8 and
// go1.27.3, see fixtures/gdb/capture.ts), and gdb -batch output as people paste it.
// Regenerate the goldens with UPDATE_GOLDEN=1 and read the diff.
const DIR = join(import.meta.dirname, "../fixtures/gdb");
const CAPTURES = readdirSync(DIR).filter((f) => /\.(log|txt)$/.test(f)).sort();
const GO_VERSIONS = ["go1.26.8", "go1.27.3"];

const parse = (file: string) => parseGdbText(readFileSync(join(DIR, file), "utf8"));
const ofKind = <K extends GdbRecord["kind"]>(records: GdbRecord[], kind: K) => records.filter((r): r is GdbRecordOf<K> => r.kind === kind);

describe("gdb transcripts", () => {
  it("cover both Go versions", () => {
    for (const go of GO_VERSIONS) {
      expect(CAPTURES).toContain(`signotify-${go}.log`);
      expect(CAPTURES).toContain(`signotify-killed-${go}.log`);
      expect(CAPTURES).toContain(`pasted-batch-${go}.txt`);
      expect(CAPTURES).toContain(`namespace-pid1-${go}.log`);
      expect(CAPTURES).toContain(`signotify-stripped-${go}.log`);
    }
  });

  it.each(CAPTURES)("%s parses to its golden records, each valid, none unparsed", (file) => {
    const records = parse(file);
    for (const r of records) expect(() => GdbRecord.parse(r)).not.toThrow();
    expect(ofKind(records, "unparsed")).toEqual([]);
    const text = records.map((r) => JSON.stringify(r)).join("\n") + "\n";
    const golden = join(DIR, file.replace(/\.(log|txt)$/, ".golden.jsonl"));
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(golden, text);
    expect(text).toBe(readFileSync(golden, "utf8"));
  });
});

describe.each(GO_VERSIONS)("the signal flow captured on %s", (go) => {
  const records = parse(`signotify-${go}.log`);

  it("names every thread with its LWP and marks the current one", () => {
    const [first] = ofKind(records, "threads");
    expect(first!.threads.length).toBeGreaterThanOrEqual(5);
    expect(first!.threads.filter((t) => t.current)).toHaveLength(1);
    for (const t of first!.threads) {
      expect(t.lwp).toBeGreaterThan(0);
      expect(t.name).toBe("signotify");
    }
  });

  it("reads the SIGUSR1 hit in runtime.sighandler with its arguments and thread", () => {
    const [hit] = ofKind(records, "breakpoint-hit");
    expect(hit).toMatchObject({ func: "runtime.sighandler", breakpoint: 1, thread: 1 });
    expect(hit!.args!.sig).toBe("10");
    expect(hit!.args!.gp).toMatch(/^0x[0-9a-f]+ <runtime\.g0>$/);
    expect(hit!.lwp).toBe(ofKind(records, "threads")[0]!.threads[0]!.lwp);
  });

  it("marks the kernel's signal frame in the handler's backtrace", () => {
    const bt = ofKind(records, "backtrace").find((b) => b.frames.length > 3 && b.frames[0]!.func === "runtime.sighandler")!;
    expect(bt.frames.slice(0, 4).map((f) => [f.func, f.signalFrame])).toEqual([
      ["runtime.sighandler", false],
      ["runtime.sigtrampgo", false],
      ["runtime.sigtramp", false],
      [null, true],
    ]);
    expect(bt.frames[1]).toMatchObject({ file: "runtime/signal_unix.go", addr: expect.stringMatching(/^0x/) });
  });

  it("gives `thread apply all bt` one backtrace per thread header", () => {
    const start = records.findIndex((r) => r.kind === "command" && r.command === "thread apply all bt");
    const end = records.findIndex((r, i) => i > start && r.kind === "command");
    const bts = ofKind(records.slice(start, end), "backtrace");
    // The thread list of the snapshot that follows: the runtime may start a thread meanwhile.
    const threads = ofKind(records.slice(end), "threads")[0]!.threads.map((t) => t.id);
    expect(bts.map((b) => b.thread).sort((a, b) => a! - b!)).toEqual(threads);
  });

  it("keeps register values as printed, per thread", () => {
    const full = ofKind(records, "registers").find((r) => Object.keys(r.registers).length > 20)!;
    expect(full.thread).toBe(1);
    expect(full.registers.rip).toMatch(/^0x[0-9a-f]+$/);
    expect(full.registers.eflags).toMatch(/^0x/);
  });

  it("parses Go values: structs, expanded repeats, hex arrays, named function pointers", () => {
    const values = ofKind(records, "value");
    const handlers = values.find((v) => v.expr === "'os/signal.handlers'")!.value as { ref: number[] };
    expect(handlers.ref).toHaveLength(65);
    expect(handlers.ref[10]).toBe(1);
    expect(values.find((v) => v.expr === "'runtime.sig'.mask")!.value).toEqual([0x400, 0, 0]);
    const m = values.find((v) => v.expr === "*$gp->m")!.value as Record<string, unknown>;
    expect(m.mstartfn).toMatchObject({ type: "void (void)" });
    expect(m.printlock).toBe(0);
    const loc = values.find((v) => v.expr === "'time.localLoc'")!.value as Record<string, unknown>;
    expect(loc.name).toEqual({ address: 0, string: "" });
  });
});

describe.each(GO_VERSIONS)("the observer's capture of a namespace PID 1 on %s", (go) => {
  const records = parse(`namespace-pid1-${go}.log`);

  it("follows the gate's execve and stops the probe with Ctrl-C", () => {
    expect(records).toContainEqual({ kind: "note", text: expect.stringMatching(/^process \d+ is executing new program: .*\/probe$/) });
    expect(ofKind(records, "signal-stop")).toEqual([{ kind: "signal-stop", thread: 1, signal: "SIGINT" }]);
    // gdb says it is in another PID namespace than its target, and works all the same.
    expect(ofKind(records, "warning").map((w) => w.text)).toContainEqual(expect.stringMatching(/different PID namespaces/));
  });
});

describe.each(GO_VERSIONS)("a target killed during a continue on %s", (go) => {
  it("ends in an exited record naming the signal", () => {
    const records = parse(`signotify-killed-${go}.log`);
    expect(ofKind(records, "exited")).toEqual([{ kind: "exited", pid: null, exitCode: null, signal: "SIGKILL" }]);
    expect(ofKind(records, "thread-event").filter((e) => e.event === "exited").length).toBeGreaterThanOrEqual(5);
  });
});

describe("the gdb observer's offline half", () => {
  const observer = createGdbObserver();

  it.each(CAPTURES.filter((f) => f.endsWith(".log")))("parses %s from its raw files and describes every record on one line", (file) => {
    const records = observer.parse({ [GDB_LOG]: readFileSync(join(DIR, file), "utf8") });
    expect(records).toEqual(parse(file));
    for (const r of records) {
      expect(observer.record.safeParse(r).success).toBe(true);
      expect(observer.describe(r)).toMatch(/^\S.*\S$/);
      expect(observer.describe(r)).not.toMatch(/\n/);
    }
  });

  it("has nothing to parse when the trial never attached gdb", () => {
    expect(observer.parse({})).toEqual([]);
  });
});

describe("pasted text cut short", () => {
  it("ends a value that never closes at the next value, and says why it is unparsed", () => {
    const text = readFileSync(join(DIR, "pasted-batch-go1.27.3.txt"), "utf8");
    // The paste loses the end of $1: from its `inuse` line up to $2.
    const cut = text.replace(/\n {2}inuse = true\n\}\n/, "\n");
    expect(cut).not.toBe(text);
    const records = parseGdbText(cut);
    expect(ofKind(records, "unparsed")).toEqual([{ kind: "unparsed", text: expect.stringMatching(/^\$1 = \{/), reason: expect.stringMatching(/^value: /) }]);
    expect(ofKind(records, "value").map((v) => v.history)).toEqual([2]);
    expect(ofKind(records, "backtrace").length).toBe(ofKind(parse("pasted-batch-go1.27.3.txt"), "backtrace").length);
  });
});
