// `forensics report` and `forensics export --perfetto` through the built CLI, on a real
// bundle (test/fixtures/report/kernel-run, written as `run` writes it): export → verify →
// report (md, html) and → Perfetto JSON, each valid; faults are one line with their status.

import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { missingRoot, skipUnlessCI } from "../support/prereq.js";
import { writeKernelRunBundle } from "../support/report-bundle.js";
import { traceProblems } from "../support/trace-events.js";
import { ensureBuilt, expectOneErrorLine, makeSandbox, runCli } from "./cli.js";

beforeAll(ensureBuilt);

describe("report and export --perfetto through the CLI", () => {
  it("round trip: export → verify → report md and html → perfetto, from the archive", async () => {
    const sandbox = await makeSandbox();
    const bundle = await writeKernelRunBundle(sandbox.out);
    const archive = join(sandbox.dir, "bug.tar.gz");
    expect((await runCli(["export", bundle, "-o", archive], { sandbox })).exitCode).toBe(0);
    expect((await runCli(["verify", archive], { sandbox })).exitCode).toBe(0);

    const md = await runCli(["report", archive], { sandbox });
    expect(md.exitCode, md.stderr).toBe(0);
    expect(md.stdout).toContain("forensics run sigterm-race --runtime namespace --init none,tini --go 1.26.8");
    expect(md.stdout).toMatch(/signal_generate: sig=15 .* res=1/);
    expect(md.stdout.length).toBeLessThanOrEqual(60_000);

    const htmlPath = join(sandbox.dir, "bug.html");
    const html = await runCli(["report", bundle, "--format", "html", "-o", htmlPath], { sandbox });
    expect(html.exitCode, html.stderr).toBe(0);
    const page = await readFile(htmlPath, "utf8");
    expect(page).toMatch(/^<!DOCTYPE html>/);
    expect(page).toContain("<svg ");

    const tracePath = join(sandbox.dir, "trace.json");
    const perfetto = await runCli(["export", "--perfetto", archive, "-o", tracePath], { sandbox });
    expect(perfetto.exitCode, perfetto.stderr).toBe(0);
    expect(traceProblems(JSON.parse(await readFile(tracePath, "utf8")))).toEqual([]);
  });

  it("a missing bundle is 66, a tampered one 67, an unwritable -o 75, -o inside the bundle 64: one line each", async () => {
    const sandbox = await makeSandbox();
    const missing = await runCli(["report", join(sandbox.dir, "nope")], { sandbox });
    expect(missing.exitCode).toBe(66);
    expectOneErrorLine(missing.stderr, { progress: false });

    const bundle = await writeKernelRunBundle(sandbox.out);
    const unwritable = await runCli(["report", bundle, "-o", "/proc/forensics-report.md"], { sandbox });
    expect(unwritable.exitCode).toBe(75);
    expectOneErrorLine(unwritable.stderr, { progress: false });
    const perfetto = await runCli(["export", "--perfetto", bundle, "-o", "/proc/trace.json"], { sandbox });
    expect(perfetto.exitCode).toBe(75);
    expectOneErrorLine(perfetto.stderr, { progress: false });

    const inside = await runCli(["report", bundle, "-o", join(bundle, "report.md")], { sandbox });
    expect(inside.exitCode).toBe(64);
    expectOneErrorLine(inside.stderr, { progress: false });
    const redacted = await runCli(["export", "--perfetto", "--no-redact", bundle], { sandbox });
    expect(redacted.exitCode).toBe(64);
    expectOneErrorLine(redacted.stderr, { progress: false });

    const probe = join(bundle, "raw/namespace-none-go1.26.8/t005/probe.jsonl");
    await writeFile(probe, `${await readFile(probe, "utf8")}{"t":1,"ev":"forged"}\n`);
    const tampered = await runCli(["report", bundle], { sandbox });
    expect(tampered.exitCode).toBe(67);
    expect(expectOneErrorLine(tampered.stderr, { progress: false })).toContain("probe.jsonl");
  });
});

describe("a bundle the harness just wrote (real run)", () => {
  it("run → export → verify → report md and html → perfetto", async (ctx) => {
    skipUnlessCI(ctx, missingRoot());
    const sandbox = await makeSandbox();
    // At the exec (ignored by PID 1) and after Notify (handled), under both observers.
    const run = await runCli(["run", "sigterm-race", "--init", "none", "--offsets", "0,500000", "--observe", "kernel,strace", "--json", "--out", sandbox.out], { sandbox, timeout: 110_000 });
    expect(run.exitCode, run.stderr).toBe(0);
    const dir = (JSON.parse(run.stdout) as { bundle: string }).bundle;
    const archive = join(sandbox.dir, "run.tar.gz");
    expect((await runCli(["export", dir, "-o", archive], { sandbox })).exitCode).toBe(0);
    expect((await runCli(["verify", archive], { sandbox })).exitCode).toBe(0);
    const md = await runCli(["report", archive], { sandbox });
    expect(md.exitCode, md.stderr).toBe(0);
    expect(md.stdout).toContain("--init none --go ");
    expect(md.stdout).toContain("--observe kernel,strace --offsets 0,500000");
    const html = await runCli(["report", archive, "--format", "html"], { sandbox });
    expect(html.exitCode, html.stderr).toBe(0);
    expect(html.stdout.match(/<svg /g)).toHaveLength(4);
    const tracePath = join(sandbox.dir, "trace.json");
    expect((await runCli(["export", "--perfetto", archive, "-o", tracePath], { sandbox })).exitCode).toBe(0);
    const trace = JSON.parse(await readFile(tracePath, "utf8")) as { traceEvents: { ph: string; cat?: string }[] };
    expect(traceProblems(trace)).toEqual([]);
    expect(trace.traceEvents.filter((e) => e.ph === "s" && e.cat === "signal-path")).toHaveLength(4);
  });
});

// Perfetto's own importer, when a trace_processor binary is at hand (it cannot be fetched
// here): FORENSICS_TRACE_PROCESSOR=/path/to/trace_processor_shell.
const TRACE_PROCESSOR = process.env.FORENSICS_TRACE_PROCESSOR;
describe.skipIf(!TRACE_PROCESSOR)("trace_processor imports the Perfetto export (opt-in: FORENSICS_TRACE_PROCESSOR)", () => {
  it("with no import errors and no data loss in its stats", async () => {
    const sandbox = await makeSandbox();
    const bundle = await writeKernelRunBundle(sandbox.out);
    const tracePath = join(sandbox.dir, "trace.json");
    expect((await runCli(["export", "--perfetto", bundle, "-o", tracePath], { sandbox })).exitCode).toBe(0);
    const query = join(sandbox.dir, "stats.sql");
    await writeFile(query, "select name, idx, severity, source, value from stats where value > 0 and (severity in ('error', 'data_loss'));\n");
    const r = await execa(TRACE_PROCESSOR!, ["-q", query, tracePath], { reject: false, timeout: 120_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    const rows = r.stdout.split("\n").filter((l) => l.trim() !== "" && !/^"?name"?,/.test(l));
    expect(rows, r.stdout).toEqual([]);
    const slices = await execa(TRACE_PROCESSOR!, ["-q", "/dev/stdin", tracePath], { input: "select count(*) as n from slice;\nselect count(*) as f from flow;\n", reject: false });
    expect(slices.stdout).toMatch(/\d/);
  });
});
if (!TRACE_PROCESSOR) {
  it.skip("trace_processor check skipped: set FORENSICS_TRACE_PROCESSOR to a trace_processor_shell binary to run it (opt-in; it cannot be downloaded here)", () => {});
}
