// The run's terminal summary and its --json document, rendered from a recorded run (the
// raw captures under test/fixtures/sigterm-race/namespace) and compared with goldens.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import sigtermRace from "../../scenarios/sigterm-race/index.js";
import { formatRunSummary, formatTrialLine, runJson } from "../../src/cli/run-report.js";
import { loadRawTrials } from "../../src/evidence/load.js";
import { variantKey, type Variant } from "../../src/evidence/schemas.js";

const DIR = join(import.meta.dirname, "../fixtures/sigterm-race/namespace");

function golden(name: string, actual: string): void {
  const path = join(DIR, name);
  if (process.env.UPDATE_GOLDEN === "1") writeFileSync(path, actual);
  expect(actual).toBe(readFileSync(path, "utf8"));
}

describe("run report of a recorded namespace run", async () => {
  const trials = await loadRawTrials(DIR);
  const variants = [...new Map(trials.map((t) => [variantKey(t.variant), t.variant])).values()] as Variant[];
  const findings = variants.flatMap((v) => sigtermRace.analyse(v, trials.filter((t) => variantKey(t.variant) === variantKey(v))));

  it("prints one progress line per trial naming its variant, observers, offset, phase and outcome", () => {
    golden("progress.golden.txt", `${trials.map((t, i) => formatTrialLine(sigtermRace, i + 1, t)).join("\n")}\n`);
  });

  it("summarises each variant: boundaries per observer set, every trial, a verdict per claim", () => {
    const text = formatRunSummary(sigtermRace, "BUNDLE", variants, trials, findings);
    for (const v of variants) expect(text).toContain(`namespace · init=${v.init} · ${v.go}`);
    expect(text.match(/^ {2}S[127] (CONFIRMED|REFUTED|INCONCLUSIVE)/gm)).toHaveLength(findings.length);
    golden("summary.golden.txt", `${text}\n`);
  });

  it("keeps the --json contract: trial and finding fields other tools read", () => {
    const doc = runJson(sigtermRace, "BUNDLE", trials, findings) as { trials: Record<string, unknown>[]; findings: Record<string, unknown>[] };
    for (const t of doc.trials) {
      for (const field of ["id", "variant", "strace", "intent", "requestedOffsetUs", "offsetUs", "outcome", "exitCode", "signal", "phase", "observers"]) expect(t, field).toHaveProperty(field);
    }
    for (const f of doc.findings) for (const field of ["claim", "variant", "verdict", "summary", "statement", "evidence"]) expect(f, field).toHaveProperty(field);
    const s2 = doc.findings.filter((f) => f.claim === "S2");
    for (const f of s2) expect(f.boundaries).toEqual(expect.arrayContaining([expect.objectContaining({ observers: "strace", handlerUs: expect.objectContaining({ median: expect.any(Number) }) })]));
  });
});
