// `forensics list` and `forensics run` through the built CLI: bad input fails with one line
// and the right exit status before anything is started; a real run prints one JSON
// document whose trials agree with their own evidence and whose bundle reads back.

import { existsSync, statSync } from "node:fs";
import { Command } from "commander";
import { beforeAll, describe, expect, it } from "vitest";
import { SCENARIOS } from "../../scenarios/index.js";
import sigtermRace from "../../scenarios/sigterm-race/index.js";
import { readBundle } from "../../src/bundle/read.js";
import { register as registerRun } from "../../src/cli/commands/run.js";
import { expectNothingLeft } from "../support/leftovers.js";
import { bundlesIn, ensureBuilt, expectOneErrorLine, makeSandbox, runCli } from "./cli.js";

beforeAll(ensureBuilt);

describe("forensics list", () => {
  it("names sigterm-race with its one-line summary", async () => {
    const r = await runCli(["list"]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("");
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(SCENARIOS.length);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^sigterm-race +${escape(sigtermRace.summary)}$`)));
  });

  it("--json gives the same as JSON", async () => {
    const r = await runCli(["list", "--json"]);
    expect(r.exitCode).toBe(0);
    const rows = JSON.parse(r.stdout) as { name: string; summary: string; claims: string[] }[];
    expect(rows.find((s) => s.name === "sigterm-race")).toMatchObject({ summary: sigtermRace.summary, claims: ["S1", "S2", "S7"] });
  });
});

describe("forensics run: bad input", () => {
  it("an unknown scenario exits 65 and names the known ones", async () => {
    const sandbox = await makeSandbox();
    const r = await runCli(["run", "nope", "--out", sandbox.out], { sandbox });
    expect(r.exitCode).toBe(65);
    const line = expectOneErrorLine(r.stderr, { progress: false });
    expect(line).toMatch(/unknown scenario "nope"/);
    for (const s of SCENARIOS) expect(line).toContain(s.name);
    expect(r.stdout).toBe("");
    expect(existsSync(sandbox.out), "no bundle dir for a run that never started").toBe(false);
    await expectNothingLeft({ pid: r.pid, sandbox });
  });

  it.each([
    [["--init", "bogus"], "--init"],
    [["--init", ""], "--init"],
    [["--init", "none,bogus"], "--init"],
    [["--runtime", "k8s"], "--runtime"],
    [["--trials", "0"], "--trials"],
    [["--trials", "1.5"], "--trials"],
    [["--offsets", "-5"], "--offsets"],
    [["--offsets", "abc"], "--offsets"],
    [["--offsets", "10,,20"], "--offsets"],
    [["--offsets", ""], "--offsets"],
    [["--strace", "maybe"], "--strace"],
    [["--observe", "bogus"], "--observe"],
    [["--go", "0.0.1"], "needs Go ≥ 1.21"],
    [["--go", "abc"], "--go"],
    [["--go", "1.22"], "language version"],
    [["--observe", "strace,,none"], "--observe"],
    [["--observe", "gdb"], "--observe"],
    [["--observe", "none", "--strace", "on"], "--strace"],
    [["--bogus"], "--bogus"],
  ])("%j exits 64 with one line naming %s", async (flags, named) => {
    const sandbox = await makeSandbox();
    const r = await runCli(["run", "sigterm-race", "--out", sandbox.out, ...flags], { sandbox });
    expect(r.exitCode).toBe(64);
    const line = expectOneErrorLine(r.stderr, { progress: false });
    expect(line).toContain(named);
    expect(r.stdout).toBe("");
    expect(existsSync(sandbox.out)).toBe(false);
    await expectNothingLeft({ pid: r.pid, sandbox });
  });

  it.each([
    [["--handler-ms", "100", "--binary", "/bin/true"], "--handler-ms configures docker-stop-timeout's own probe"],
    [["--port", "8080"], "--port is for a user's program"],
    [["--path", "/slow"], "--path is for a user's program"],
  ])("docker-stop-timeout %j exits 64: an option for the other kind of run is refused, not ignored", async (flags, named) => {
    const sandbox = await makeSandbox();
    const r = await runCli(["run", "docker-stop-timeout", "--out", sandbox.out, ...flags], { sandbox });
    expect(r.exitCode).toBe(64);
    expect(expectOneErrorLine(r.stderr, { progress: false })).toContain(named);
    expect(existsSync(sandbox.out)).toBe(false);
    await expectNothingLeft({ pid: r.pid, sandbox });
  });

  it("a missing scenario argument exits 64 with one line", async () => {
    const r = await runCli(["run"]);
    expect(r.exitCode).toBe(64);
    expect(expectOneErrorLine(r.stderr, { progress: false })).toMatch(/scenario/);
  });

  it("--init docker-init with the namespace runtime exits 64 saying it needs --runtime docker", async () => {
    const sandbox = await makeSandbox();
    const r = await runCli(["run", "sigterm-race", "--init", "none,docker-init", "--out", sandbox.out], { sandbox });
    expect(r.exitCode).toBe(64);
    const line = expectOneErrorLine(r.stderr, { progress: false });
    expect(line).toMatch(/docker-init/);
    expect(line).toMatch(/--runtime docker/);
    expect(existsSync(sandbox.out)).toBe(false);
    await expectNothingLeft({ pid: r.pid, sandbox });
  });
});

describe("forensics run --help", () => {
  it("lists every flag, and every flag appears in an example", async () => {
    const r = await runCli(["run", "--help"]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("");
    // The flags as the command defines them, so a new flag without help fails here.
    const program = new Command();
    registerRun(program);
    const flags = program.commands.find((c) => c.name() === "run")!.options.map((o) => o.long!);
    expect(flags.length).toBeGreaterThan(5);
    const [options, examples] = r.stdout.split(/^Examples:$/m);
    expect(examples, "an Examples: section").toBeDefined();
    const exampleLines = examples!.split("\n").filter((l) => /^\s+forensics run /.test(l));
    expect(exampleLines.length).toBeGreaterThan(0);
    for (const flag of flags) {
      expect(options, `${flag} in the options list`).toMatch(new RegExp(`^\\s+${escape(flag)}\\b`, "m"));
      expect(exampleLines.some((l) => new RegExp(`\\s${escape(flag)}(\\s|$)`).test(l)), `an example uses ${flag}`).toBe(true);
    }
  });
});

const Outcome = ["lost", "runtime-default", "handled"];

interface JsonTrial {
  id: string;
  variant: { runtime: string; init: string; go: string };
  strace: boolean;
  offsetUs: number;
  outcome: string;
  exitCode: number | null;
  signal: string | null;
  phase: string;
}

describe("forensics run sigterm-race --init none --json (real run)", () => {
  it("prints one JSON document; trials agree with their evidence; the bundle is complete and reads back", async () => {
    const sandbox = await makeSandbox();
    const r = await runCli(["run", "sigterm-race", "--init", "none", "--json", "--out", sandbox.out], { sandbox, timeout: 90_000 });
    expect(r.exitCode, r.stderr).toBe(0);

    // Progress went to stderr; stdout is exactly one JSON document.
    expect(r.stderr).toMatch(/^\[ {2}1\] init=none · go/m);
    expect(r.stderr).not.toMatch(/^forensics: /m);
    const doc = JSON.parse(r.stdout) as { bundle: string; scenario: string; findings: unknown[]; trials: JsonTrial[] };
    expect(doc.scenario).toBe("sigterm-race");

    const go = expect.stringMatching(/^go\d+\.\d+/);
    expect(doc.findings.map((f) => (f as { claim: string }).claim).sort()).toEqual(["S1", "S2", "S7"]);
    for (const f of doc.findings) {
      expect(f).toMatchObject({
        claim: expect.stringMatching(/^S[127]$/),
        variant: { runtime: "namespace", init: "none", go },
        verdict: expect.stringMatching(/^(confirmed|refuted|inconclusive)$/),
        summary: expect.stringMatching(/\S/),
      });
    }

    // Each variant × strace mode: calibration, exec, and the aimed trials.
    expect(doc.trials.length).toBeGreaterThanOrEqual(8);
    expect(new Set(doc.trials.map((t) => t.strace))).toEqual(new Set([false, true]));
    for (const t of doc.trials) {
      const id = `${t.id} (${t.phase}, sent +${t.offsetUs} µs, strace ${t.strace})`;
      expect(t.variant, id).toEqual({ runtime: "namespace", init: "none", go });
      expect(Outcome, id).toContain(t.outcome);
      expect(Number.isInteger(t.offsetUs) && t.offsetUs >= 0, id).toBe(true);
      expect(typeof t.exitCode, id).toBe("number");
      // What the outcome says must be what the exit status shows.
      if (t.outcome === "lost") expect([t.exitCode, t.signal], id).toEqual([137, "SIGKILL"]);
      if (t.outcome === "handled") expect([t.exitCode, t.signal], id).toEqual([0, null]);
      if (t.outcome === "runtime-default") {
        expect(t.signal, id).toBeNull();
        expect(t.exitCode, id).not.toBe(0);
      }
      // And what the phase says: after Notify the program handles it; only a signal sent
      // before the handler can be lost (the phase is sent vs. handler seen, an upper bound).
      if (t.phase === "after-notify") expect([t.outcome, t.exitCode], id).toEqual(["handled", 0]);
      if (t.phase === "before-notify") expect(t.outcome, id).toBe("runtime-default");
      if (t.outcome === "lost") expect(["before-handler", "boundary"], id).toContain(t.phase);
    }

    expect(statSync(doc.bundle).isDirectory()).toBe(true);
    const bundle = await readBundle(doc.bundle);
    expect(bundle.manifest.status).toBe("complete");
    expect(bundle.manifest.reason).toBeUndefined();
    expect(bundle.trials.map((t) => t.id)).toEqual(doc.trials.map((t) => t.id));
    expect(bundle.findings.findings.map((f) => [f.claim, f.verdict])).toEqual(doc.findings.map((f) => [(f as { claim: string }).claim, (f as { verdict: string }).verdict]));
    expect((await bundlesIn(sandbox.out)).map((b) => b.dir)).toEqual([doc.bundle]);
    await expectNothingLeft({ pid: r.pid, sandbox });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
