import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleToPerfetto, nestSlices, type PerfettoTrace, type TraceEvent } from "../../src/bundle/perfetto.js";
import { loadBundle, readBundle, type LoadedBundle } from "../../src/bundle/read.js";
import { loadRawTrials } from "../../src/evidence/load.js";
import type { GdbRecord } from "../../src/parse/gdb-records.js";
import { writeRealBundle } from "../support/bundle.js";
import { writeKernelRunBundle } from "../support/report-bundle.js";
import { traceProblems } from "../support/trace-events.js";

let root: string;
let kernelRun: LoadedBundle;
let straceRun: LoadedBundle;
let kernelTrace: PerfettoTrace;
let straceTrace: PerfettoTrace;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "forensics-perfetto-"));
  kernelRun = loadBundle(await readBundle(await writeKernelRunBundle(join(root, "k"))));
  straceRun = loadBundle(await readBundle(await writeRealBundle(join(root, "s"))));
  kernelTrace = bundleToPerfetto(kernelRun);
  straceTrace = bundleToPerfetto(straceRun);
});
afterAll(() => rm(root, { recursive: true, force: true }));

const named = (trace: PerfettoTrace, meta: string, pid: number, tid?: number) =>
  trace.traceEvents.find((e) => e.ph === "M" && e.name === meta && e.pid === pid && (tid === undefined || e.tid === tid))?.args?.name as string | undefined;

describe("bundleToPerfetto on real bundles", () => {
  it("obeys the Trace Event format's rules (phases, fields, µs, nesting, flow binding)", () => {
    expect(traceProblems(kernelTrace)).toEqual([]);
    expect(traceProblems(straceTrace)).toEqual([]);
    expect(traceProblems(JSON.parse(JSON.stringify(kernelTrace)))).toEqual([]);
  });

  it("names every process and thread it uses, with the host ids", () => {
    for (const trace of [kernelTrace, straceTrace]) {
      for (const e of trace.traceEvents) {
        if (e.ph === "M" || (e.ph === "i" && e.s === "g")) continue;
        expect(named(trace, "process_name", e.pid), `process ${e.pid}`).toBeDefined();
        expect(named(trace, "thread_name", e.pid, e.tid), `thread ${e.pid}/${e.tid}`).toBeDefined();
      }
    }
    const names = kernelTrace.traceEvents.filter((e) => e.name === "process_name").map((e) => e.args!.name as string);
    expect(names.some((n) => /^t005 probe \[host pid \d+\]$/.test(n))).toBe(true);
  });

  it("groups a Go program's threads under its process (kernel forks without exec; strace clone(CLONE_THREAD))", () => {
    for (const trace of [kernelTrace, straceTrace]) {
      const threads = trace.traceEvents.filter((e) => e.name === "thread_name" && /^(thread|probe) \[host tid/.test(e.args!.name as string));
      expect(threads.length).toBeGreaterThan(3);
      // Each such thread sits in a process that also has a main thread.
      for (const th of threads) expect(trace.traceEvents.some((e) => e.name === "thread_name" && e.pid === th.pid && /^main /.test(e.args!.name as string))).toBe(true);
    }
  });

  it("makes one process of each program a trial ran (the probe, its init), named after what it exec'd", () => {
    for (const [trace, bundle] of [[kernelTrace, kernelRun], [straceTrace, straceRun]] as const) {
      const processes = trace.traceEvents.filter((e) => e.name === "process_name" && !/ harness: /.test(e.args!.name as string)).map((e) => e.args!.name as string);
      for (const t of bundle.trials) {
        const own = processes.filter((n) => n.startsWith(`${t.id} `)).map((n) => n.split(" ")[1]);
        const probes = own.filter((n) => n === "probe").length;
        expect(probes, `${t.id}: ${own.join(", ")}`).toBeLessThanOrEqual(1);
        // Under an init without observers, version 1 drivers did not learn the probe's pid: its events sit on the harness's track.
        if (t.variant.init === "none" || t.request.observers.length > 0) expect(probes, `${t.id}: ${own.join(", ")}`).toBe(1);
        expect(own.every((n) => ["probe", "tini", "dumb-init"].includes(n!)), `${t.id}: ${own.join(", ")}`).toBe(true);
      }
    }
  });

  it("keeps strace's unfinished calls (marked), resumed pairs and durations, and the signals and exits", () => {
    const syscalls = straceTrace.traceEvents.filter((e) => e.cat === "syscall" && e.ph === "X");
    expect(syscalls.some((e) => e.args!.unfinished === true)).toBe(true);
    expect(syscalls.some((e) => e.args!.resumed === true && e.dur! > 0)).toBe(true);
    expect(syscalls.every((e) => e.dur !== undefined)).toBe(true);
    expect(straceTrace.traceEvents.some((e) => e.cat === "signal" && e.name === "--- SIGTERM")).toBe(true);
    expect(straceTrace.traceEvents.some((e) => e.cat === "exit" && /^(exited with|killed by)/.test(e.name))).toBe(true);
    const straceRecords = straceRun.trials.flatMap((t) => (t.records.strace ?? []).filter((r) => r.tsUs !== null));
    expect(straceTrace.traceEvents.filter((e) => e.args?.source === "strace")).toHaveLength(straceRecords.length);
  });

  it("traces a handled SIGTERM from the driver's kill through generate and deliver to runtime.sighandler", () => {
    const flows = kernelTrace.traceEvents.filter((e) => e.cat === "signal-path");
    const ids = [...new Set(flows.map((e) => e.id))];
    const sliceAt = (f: TraceEvent) => kernelTrace.traceEvents.find((e) => e.ph === "X" && e.pid === f.pid && e.tid === f.tid && e.ts === f.ts)!;
    const paths = ids.map((id) => flows.filter((f) => f.id === id).map((f) => sliceAt(f).name));
    expect(paths).toContainEqual(["kill(SIGTERM)", "signal_generate SIGTERM: delivered", "signal_deliver SIGTERM", "runtime.sighandler(SIGTERM)"]);
    // PID 1 ignoring the SIGTERM at its exec: the flow ends at the kernel's verdict.
    expect(paths).toContainEqual(["kill(SIGTERM)", "signal_generate SIGTERM: ignored"]);
  });

  it("without the kernel observer, runs a signal's flow through strace's delivery to the program's report (version 1 driver events too)", () => {
    const flows = straceTrace.traceEvents.filter((e) => e.cat === "signal-path");
    const sliceAt = (f: TraceEvent) => straceTrace.traceEvents.find((e) => e.ph === "X" && e.pid === f.pid && e.tid === f.tid && e.ts === f.ts)!;
    const paths = [...new Set(flows.map((e) => e.id))].map((id) => flows.filter((f) => f.id === id).map((f) => sliceAt(f).name));
    expect(paths).toContainEqual(["kill(SIGTERM)", "--- SIGTERM", "probe: signal SIGTERM"]);
  });

  it("stamps µs after each trial's exec, shifted by originTs so nothing is negative", () => {
    const execs = kernelTrace.traceEvents.filter((e) => e.cat === "trial");
    expect(execs).toHaveLength(kernelRun.trials.length);
    expect(new Set(execs.map((e) => e.ts))).toEqual(new Set([kernelTrace.otherData.originTs]));
    const t005 = kernelRun.trials.find((t) => t.id === "t005")!;
    const notify = t005.records.probe.find((r) => r.kind === "probe" && r.ev === "notify")!;
    const event = kernelTrace.traceEvents.find((e) => e.name === "probe: notify" && named(kernelTrace, "process_name", e.pid)?.startsWith("t005"))!;
    expect(event.ts).toBe((notify as { tsUs: number }).tsUs - t005.originUs + (kernelTrace.otherData.originTs as number));
  });

  it("adds the findings as global instants with their verdicts and evidence", () => {
    const findings = kernelTrace.traceEvents.filter((e) => e.cat === "finding");
    expect(findings).toHaveLength(kernelRun.findings.findings.length);
    expect(findings.every((e) => e.ph === "i" && e.s === "g" && typeof e.args!.verdict === "string" && Array.isArray(e.args!.evidence))).toBe(true);
  });
});

describe("gdb snapshots", () => {
  it("carry the values gdb read in args, on the trial's gdb track", async () => {
    const text = await readFile(join(import.meta.dirname, "../fixtures/gdb/namespace-pid1-go1.26.8.golden.jsonl"), "utf8");
    const gdb = text.trim().split("\n").map((l) => JSON.parse(l) as GdbRecord);
    const [first, ...rest] = kernelRun.trials;
    const withGdb = { ...kernelRun, trials: [{ ...first!, records: { ...first!.records, gdb } }, ...rest] };
    const trace = bundleToPerfetto(withGdb);
    expect(traceProblems(trace)).toEqual([]);
    const snapshot = trace.traceEvents.find((e) => e.cat === "gdb" && e.name === "gdb snapshot 1")!;
    expect(snapshot.args).toHaveProperty(["'runtime.sig'"]);
    expect(snapshot.args!.placed).toMatch(/gdb prints no clock/);
    expect(named(trace, "thread_name", snapshot.pid, snapshot.tid)).toBe("gdb");
  });
});

describe("gdb stops at checkpoints (tz-gdb-snapshot, a real capture)", () => {
  it("sit where the harness noted each checkpoint, with what gdb printed there", async () => {
    const dir = join(import.meta.dirname, "../fixtures/tz/tz-gdb-snapshot");
    const trials = await loadRawTrials(dir);
    const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as LoadedBundle["manifest"];
    const trace = bundleToPerfetto({ manifest, trials, findings: { schemaVersion: 3, findings: [] } });
    expect(traceProblems(trace)).toEqual([]);
    const t = trials[0]!;
    const checkpoints = t.records.runtime.filter((r) => r.kind === "probe" && r.ev === "checkpoint").map((r) => (r as { tsUs: number }).tsUs - t.originUs + (trace.otherData.originTs as number));
    const stops = trace.traceEvents.filter((e) => e.name === "gdb stop: main.checkpoint" && named(trace, "process_name", e.pid)?.startsWith(`${t.id} `));
    expect(stops.map((e) => e.ts)).toEqual(checkpoints);
    expect(stops.map((e) => JSON.stringify(e.args!.name))).toEqual([expect.stringContaining("before-first-use"), expect.stringContaining("after-first-use")]);
    expect(stops[1]!.args).toHaveProperty(["'time.localLoc'"]);
  });
});

describe("nestSlices", () => {
  const x = (ts: number, dur: number, tid = 1): TraceEvent => ({ name: "x", ph: "X", pid: 1, tid, ts, dur });
  it("clips a slice that crosses the end of its enclosing one, and says by how much", () => {
    const [a, b, c] = nestSlices([x(0, 10), x(5, 10), x(5, 10, 2)]);
    expect(a!.dur).toBe(10);
    expect(b).toMatchObject({ dur: 5, args: { clippedFromUs: 10 } });
    expect(c!.dur).toBe(10);
  });
  it("leaves nested and sequential slices alone", () => {
    const events = nestSlices([x(0, 10), x(2, 3), x(10, 4)]);
    expect(events.map((e) => e.dur)).toEqual([10, 3, 4]);
  });
});
