import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import sigtermRace from "../../scenarios/sigterm-race/index.js";
import { loadRawTrials } from "../../src/evidence/load.js";
import { describeEvent, describeStrace } from "../../src/parse/describe.js";
import { analyseRaceTrial, type RaceTrial } from "../../scenarios/sigterm-race/analysis.js";
import { variantKey, type Finding, type TrialEvidence } from "../../src/evidence/schemas.js";

// Fixtures are the raw/ folders of two real `forensics run sigterm-race` runs (namespace
// with none/tini/dumb-init, docker with none/tini/dumb-init/docker-init). Evidence is
// rebuilt from the raw captures here, so the parsers and the analysis are exercised on
// exactly what the harness saw.
const FIXTURES = join(import.meta.dirname, "../fixtures/sigterm-race");

describe.each(["namespace", "docker"])("sigterm-race analysis on a recorded %s run", (runtime) => {
  const dir = join(FIXTURES, runtime);
  const load = (() => {
    let trials: Promise<TrialEvidence[]> | undefined;
    return () => (trials ??= loadRawTrials(dir));
  })();

  it("classifies every trial consistently with its own records", async () => {
    const trials = await load();
    expect(trials.length).toBeGreaterThanOrEqual(16);
    for (const evidence of trials) {
      const t = analyseRaceTrial(evidence);
      const events = (source: "probe" | "runtime") => evidence.records[source].flatMap((r) => (r.kind === "probe" ? [r.ev] : []));
      expect(t.outcome === "lost", `${t.trial} lost`).toBe(events("runtime").includes("deadline-kill") || events("runtime").includes("kernel-decided"));
      expect(t.outcome === "handled", `${t.trial} handled`).toBe(events("probe").includes("signal"));
      if (t.outcome === "handled") {
        expect(t.phase).toBe("after-notify");
        expect(t.exitCode).toBe(0);
      }
      if (t.outcome === "lost") expect(t.exitCode).toBe(137);
      if (t.phase === "after-notify") expect(t.notifyUs!).toBeLessThanOrEqual(t.sentUs);
      if (t.phase === "before-notify") expect(t.handlerUs!).toBeLessThanOrEqual(t.sentUs);
      // A probe killed before its Go runtime got going never printed "start" nor installed a handler.
      if (evidence.request.observers.includes("strace") && events("probe").includes("start")) {
        expect(t.handlerSource, `${t.trial}: strace shows Go's handler install`).toBe("strace");
        if (t.phase === "before-handler") expect(t.handlerUs!).toBeGreaterThan(t.sentUs);
      }
    }
  });

  it("shows Go's dieFromSignal fallback in strace when the probe itself is PID 1", async () => {
    const trials = (await load()).filter((e) => e.variant.init === "none" && e.request.observers.includes("strace")).map(analyseRaceTrial);
    const middle = trials.filter((t) => t.phase === "before-notify");
    expect(middle.length).toBeGreaterThan(0);
    for (const t of middle) {
      expect(t.outcome).toBe("runtime-default");
      expect(t.probeEnd?.kind).toBe("exited");
      const calls = t.refs.fallback.map((r) => r.text);
      expect(calls.some((c) => /tgkill\(.*SIGTERM/.test(c))).toBe(true);
      expect(calls.some((c) => /rt_sigaction\(SIGTERM, \{sa_handler=SIG_DFL/.test(c))).toBe(true);
      expect(calls.at(-1)).toMatch(/exit_group\(/);
    }
  });

  it("references only records that exist and read as cited", async () => {
    const trials = await load();
    const byId = new Map(trials.map((t) => [t.id, t]));
    const findings = trials.length ? computeFindings(trials) : [];
    for (const ref of findings.flatMap((f) => f.evidence)) {
      const trial = byId.get(ref.trial)!;
      const record = (trial.records as Record<string, unknown[] | undefined>)[ref.source]![ref.index]!;
      const text = ref.source === "strace" ? describeStrace(record as never) : describeEvent(record as never);
      expect(text).toBe(ref.text);
    }
  });

  it("computes the same findings as the golden file", async () => {
    const findings = computeFindings(await load());
    const golden = join(dir, "findings.golden.json");
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(golden, `${JSON.stringify(findings, null, 1)}\n`);
    expect(findings).toEqual(JSON.parse(readFileSync(golden, "utf8")));
  });
});

function computeFindings(trials: TrialEvidence[]): Finding[] {
  const variants = [...new Map(trials.map((t) => [variantKey(t.variant), t.variant])).values()];
  return variants.flatMap((v) => sigtermRace.analyse(v, trials.filter((t) => variantKey(t.variant) === variantKey(v))));
}

export type { RaceTrial };
