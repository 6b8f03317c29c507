import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { kernelObserver } from "../../src/capture/kernel.js";
import { createKernelParser, parseKernelLine, parseKernelText, type KernelParserState } from "../../src/parse/kernel.js";
import { createKernelSummary, describeKernelRecord } from "../../src/parse/kernel-describe.js";
import { KernelRecord, type KernelRecordOf } from "../../src/parse/kernel-records.js";
import { rootPidsOf, selectTrialRecords } from "../../src/parse/kernel-tree.js";

// Captures the kernel observer itself wrote on real trials of the sigterm probe as PID 1
// (test/fixtures/kernel/capture.ts): the tree instance's kernel.trace and the signal
// generation instance's kernel-signals.trace, untouched.
const FIXTURES = join(import.meta.dirname, "../fixtures/kernel");
const CAPTURES = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();
const FILES = CAPTURES.flatMap((c) => kernelObserver.rawFiles.map((f) => `${c}/${f}`));

const read = (path: string) => readFileSync(join(FIXTURES, path), "utf8");
const rawOf = (capture: string): Record<string, string> =>
  Object.fromEntries(kernelObserver.rawFiles.map((f) => [f, read(`${capture}/${f}`)]));
/** The trial's records, as the lead's analysis would take them. */
const trialRecords = (capture: string) => {
  const all = kernelObserver.parse(rawOf(capture));
  return selectTrialRecords(all, rootPidsOf(all));
};
const of = <K extends KernelRecord["kind"]>(records: KernelRecord[], kind: K) =>
  records.filter((r): r is KernelRecordOf<K> => r.kind === kind);

describe("kernel captures written by the observer", () => {
  it("are there to test", () => {
    expect(CAPTURES).toEqual([
      "docker-pid1-after-notify",
      "docker-pid1-before-handler",
      "namespace-pid1-after-notify",
      "namespace-pid1-before-handler",
      "namespace-pid1-before-notify",
    ]);
  });

  it.each(FILES)("%s: every line is one record, none unparsed, all schema-valid", (file) => {
    const text = read(file);
    const records = parseKernelText(text);
    expect(records.filter((r) => r.kind === "unparsed")).toEqual([]);
    const lines = text.split("\n").filter((l) => l !== "");
    // `#` lines are tracefs comments; ours are none but the header, which is a record.
    expect(records.length).toBe(lines.length);
    expect(records.map((r) => r.line)).toEqual(lines);
    expect(records[0]!.kind).toBe("header");
    for (const r of records) {
      expect(KernelRecord.parse(r)).toEqual(r);
      if (r.kind === "header") continue;
      expect(r.pid, r.line).not.toBeNull();
      expect(r.tsUs, "the attach marker maps every line to CLOCK_REALTIME").not.toBeNull();
    }
  });

  it.each(FILES)("%s: the attach and detach markers agree on the clock offset to within 20 µs", (file) => {
    const markers = of(parseKernelText(read(file)), "marker").filter((m) => m.realtimeNs !== null);
    expect(markers.length).toBe(2);
    const offsetUs = (m: KernelRecordOf<"marker">) => Number((BigInt(m.realtimeNs!) - BigInt(m.monoNs ?? Math.round(m.ts! * 1e9))) / 1000n);
    // The first marker defines the mapping; the second one, written seconds later, checks it.
    expect(Math.abs(offsetUs(markers[1]!) - offsetUs(markers[0]!))).toBeLessThanOrEqual(20);
    // A marker carrying its own clock pair is written after the pair was read: tracefs's
    // stamp of the write maps to a realtime at or after the one it carries.
    for (const m of markers) if (m.monoNs !== undefined) expect(m.tsUs!).toBeGreaterThanOrEqual(Number(m.realtimeNs!.slice(0, -3)));
  });

  it("a capture's two files share the clock pair its markers carry, so they share one mapping", () => {
    const [tree, signals] = kernelObserver.rawFiles.map((f) => of(parseKernelText(read(`docker-pid1-before-handler/${f}`)), "marker"));
    expect(tree!.map((m) => [m.realtimeNs, m.monoNs])).toEqual(signals!.map((m) => [m.realtimeNs, m.monoNs]));
    // The marker's own stamp came later than its pair, by a different amount in each file:
    // the old mapping (stamp ↔ realtime) would have shifted the files apart by that much.
    expect(tree![0]!.ts).not.toBe(signals![0]!.ts);
    const records = trialRecords("docker-pid1-before-handler");
    const exec = of(records, "exec").find((e) => e.filename === "/probe")!;
    const term = of(records, "signal-generate").find((g) => g.sig === 15)!;
    const install = of(records, "uprobe").find((u) => u.fn === "runtime.setsig" && u.args.sig === 15)!;
    // Kernel stamps on one clock: the order across files is the order of their stamps.
    expect(term.tsUs! - exec.tsUs!).toBe(Math.round((term.ts! - exec.ts!) * 1e6));
    expect(term.tsUs!).toBeLessThan(install.tsUs!);
    expect(term.resultName).toBe("ignored");
  });

  it.each(FILES)("%s: streamed in pieces cut anywhere, it parses to the same records", (file) => {
    const text = read(file);
    const parser = createKernelParser();
    const streamed: KernelRecord[] = [];
    for (let at = 0; at < text.length; at += 997) streamed.push(...parser.pushText(text.slice(at, at + 997)));
    streamed.push(...parser.end());
    // A stream meets the attach marker before any event (the observer enables events after
    // writing it), so nothing is left without a realtime stamp.
    expect(streamed).toEqual(parseKernelText(text));
  });
});

describe("what the captures show", () => {
  const rootOf = (capture: string) => rootPidsOf(kernelObserver.parse(rawOf(capture)))[0]!;

  it("SIGTERM before Go's handler: PID 1 with SIG_DFL ignores it (SIGNAL_UNKILLABLE); SIGKILL ends it", () => {
    const records = trialRecords("namespace-pid1-before-handler");
    const root = rootOf("namespace-pid1-before-handler");
    const exec = of(records, "exec").find((e) => e.filename === "/probe")!;
    expect(exec.execPid).toBe(root);
    const term = of(records, "signal-generate").filter((g) => g.sig === 15);
    expect(term).toHaveLength(1);
    expect(term[0]).toMatchObject({ signal: "SIGTERM", targetPid: root, targetComm: "probe", result: 1, resultName: "ignored", group: true, code: 0 });
    // Ignored means never delivered: no signal_deliver of SIGTERM, no Go handler ran.
    expect(of(records, "signal-deliver").filter((d) => d.sig === 15)).toEqual([]);
    expect(of(records, "uprobe").filter((u) => u.fn === "runtime.sighandler" && u.args.sig === 15)).toEqual([]);
    // The send came before the runtime's setsig(SIGTERM, sighandler).
    const install = of(records, "uprobe").find((u) => u.fn === "runtime.setsig" && u.args.sig === 15)!;
    expect(install.args.handler).not.toBe("0x0");
    expect(term[0]!.tsUs!).toBeLessThan(install.tsUs!);
    const kill = of(records, "signal-generate").find((g) => g.sig === 9 && g.targetPid === root)!;
    expect(kill.resultName).toBe("delivered");
    expect(of(records, "exit").filter((x) => x.groupDead === true)).toHaveLength(1);
  });

  it("SIGTERM between the handler and Notify: delivered, dieFromSignal re-raises it, PID 1 ignores that", () => {
    const records = trialRecords("namespace-pid1-before-notify");
    const root = rootOf("namespace-pid1-before-notify");
    const term = of(records, "signal-generate").filter((g) => g.sig === 15);
    // kill(2) from the driver (code 0 SI_USER), then the runtime's tgkill(2) (code -6 SI_TKILL).
    expect(term[0]).toMatchObject({ targetPid: root, code: 0, resultName: "delivered" });
    expect(term.slice(1).every((g) => g.code === -6 && g.pid === root)).toBe(true);
    expect(term.slice(1).map((g) => g.resultName)).toContain("ignored");
    const fns = of(records, "uprobe").map((u) => u.fn);
    expect(fns).toContain("runtime.dieFromSignal");
    expect(fns).not.toContain("os/signal.Notify");
  });

  it.each(["namespace-pid1-after-notify", "docker-pid1-after-notify"])("%s: SIGTERM after Notify reaches os/signal", (capture) => {
    const records = trialRecords(capture);
    const root = rootOf(capture);
    const term = of(records, "signal-generate").filter((g) => g.sig === 15);
    expect(term).toHaveLength(1);
    expect(term[0]).toMatchObject({ targetPid: root, resultName: "delivered" });
    const deliver = of(records, "signal-deliver").find((d) => d.sig === 15)!;
    expect(deliver.pid).toBe(root);
    expect(deliver.saHandler).not.toBe("0");
    // setsig(SIGTERM, sighandler) at start-up, then the one SIGTERM's way through the runtime.
    const hits = of(records, "uprobe").filter((u) => u.args.sig === 15).map((u) => u.fn);
    expect(hits).toEqual(["runtime.setsig", "runtime.sighandler", "runtime.sigsend", "os/signal.process"]);
    expect(of(records, "uprobe").find((u) => u.fn === "os/signal.Notify")?.args).toEqual({ nsig: 1 });
    // Instants in order on the realtime clock: exec < Notify < generate < deliver < handler.
    const exec = of(records, "exec").find((e) => e.filename === "/probe")!;
    const notify = of(records, "uprobe").find((u) => u.fn === "os/signal.Notify")!;
    const handler = of(records, "uprobe").find((u) => u.fn === "runtime.sighandler" && u.args.sig === 15)!;
    const t = [exec, notify, term[0]!, deliver, handler].map((r) => r.tsUs!);
    expect([...t].sort((a, b) => a - b)).toEqual(t);
  });

  it("a summary counts what `forensics parse kernel` shows", () => {
    const summary = createKernelSummary();
    for (const r of trialRecords("namespace-pid1-after-notify")) summary.add(r);
    const s = summary.result();
    expect(s.generated.get("SIGTERM delivered")).toBe(1);
    expect(s.delivered.get("SIGTERM")).toBe(1);
    // The gate's reset to SIG_DFL and the runtime's handler are both rt_sigaction with an
    // action; only the runtime's setsig says which one installed a handler.
    expect(s.sigactionSets.get("SIGTERM")).toBe(2);
    expect(s.goHandlerInstalls.get("SIGTERM")).toBe(1);
    expect(s.uprobeHits.get("os/signal.process")).toBe(1);
    expect(s.unparsed).toBe(0);
  });
});

// Two captures pinned record for record. Regenerate with UPDATE_GOLDEN=1 and read the diff.
const PINNED = ["namespace-pid1-before-handler", "docker-pid1-after-notify"];

describe.each(PINNED)("capture %s", (capture) => {
  it("parses to its golden records", () => {
    const records = kernelObserver.parse(rawOf(capture));
    const golden = join(FIXTURES, capture, "records.golden.jsonl");
    const text = records.map((r) => JSON.stringify(r)).join("\n") + "\n";
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(golden, text);
    expect(text).toBe(readFileSync(golden, "utf8"));
  });

  it("describes every record in one line", () => {
    for (const r of kernelObserver.parse(rawOf(capture))) expect(describeKernelRecord(r)).toMatch(/^[^\n]+$/);
  });
});

describe("lines the captures above do not hold", () => {
  const state = (): KernelParserState => ({ clockOffsetUs: 1_000_000, uprobes: new Map([["sighandler", "runtime.sighandler"]]), partial: "" });
  const one = (line: string) => parseKernelLine(line, state());

  it("a ring buffer overrun (kernel/trace/trace.c prints it when the reader fell behind)", () => {
    expect(one("CPU:1 [LOST 42 EVENTS]")).toMatchObject({ kind: "lost", cpu: 1, lostEvents: 42, pid: null, tsUs: null });
  });

  it("sched_process_exit of kernels before group_dead was printed", () => {
    const r = one("           probe-1   [000] .....   100.000001: sched_process_exit: comm=probe pid=1 prio=120");
    expect(r).toMatchObject({ kind: "exit", exitPid: 1, groupDead: null, tsUs: 101_000_001 });
  });

  it("the record-tgid column, a comm with spaces and dashes, a real-time signal", () => {
    const r = one("   my prog-x-77 (     77) [001] d..1.   5.5: signal_generate: sig=34 errno=0 code=-1 comm=my prog-x pid=77 grp=1 res=2");
    expect(r).toMatchObject({ kind: "signal-generate", pid: 77, comm: "my prog-x", signal: "SIGRT_2", targetComm: "my prog-x", resultName: "already-pending", ts: 5.5, tsUs: 6_500_000 });
  });

  it("an unknown event or a foreign line is unparsed with a reason, never thrown or dropped", () => {
    expect(one("          <idle>-0       [000] d.h2.   9.000000: irq_handler_entry: irq=1 name=x")).toMatchObject({
      kind: "unparsed",
      pid: 0,
      reason: 'unknown event "irq_handler_entry"',
    });
    expect(one("hello")).toMatchObject({ kind: "unparsed", reason: expect.stringMatching(/not a trace line/) });
    expect(one("       x-1 [000] ..... 1.0: signal_generate: sig=15")).toMatchObject({ kind: "unparsed", reason: expect.stringMatching(/signal_generate without/) });
    expect(one("# tracer: nop")).toBeNull();
  });

  it("a capture without a clock marker has no realtime stamps", () => {
    const [r] = parseKernelText("           probe-1   [000] .....   100.000001: sched_process_exit: comm=probe pid=1 prio=120 group_dead=true\n");
    expect(r).toMatchObject({ kind: "exit", ts: 100.000001, tsUs: null });
  });
});
