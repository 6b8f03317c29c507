import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findScenario } from "../../scenarios/index.js";
import { observeTrial } from "../../scenarios/tz-common/observe.js";
import { localLocSnapshots } from "../../scenarios/tz-gdb-snapshot/claims.js";
import { loadRawTrials } from "../../src/evidence/load.js";
import { extractFileAccesses, isLocalePath, isTimeZonePath } from "../../src/evidence/file-access.js";
import { sameVariant, type TrialEvidence } from "../../src/evidence/schemas.js";

// Fixtures are the raw/ folders of real `forensics run <scenario>` runs (commands in
// test/fixtures/tz/README.md). Evidence is rebuilt from the captures here, so the strace
// parser, the file-access extraction, the observation and the judges all run on exactly
// what the harness saw. Goldens pin the computed matrix and findings: regenerate with
// UPDATE_GOLDEN=1 after a deliberate change, and read the diff.
const FIXTURES = join(import.meta.dirname, "../fixtures/tz");
const RUNS: Record<string, string> = {
  "tz-matrix": "tz-matrix",
  "tz-matrix-nolibc": "tz-matrix",
  "tz-missing-zoneinfo": "tz-missing-zoneinfo",
  "tz-cgo-cache": "tz-cgo-cache",
  "tz-localtime-mount-ns": "tz-localtime-mount",
  "tz-localtime-mount-docker": "tz-localtime-mount",
  "tz-dockerfile-order": "tz-dockerfile-order",
  "locale-missing": "locale-missing",
  "tz-gdb-snapshot": "tz-gdb-snapshot",
};

const loaded = new Map<string, Promise<TrialEvidence[]>>();
const load = (run: string) => {
  if (!loaded.has(run)) loaded.set(run, loadRawTrials(join(FIXTURES, run)));
  return loaded.get(run)!;
};

function golden(path: string, value: unknown): void {
  const text = `${JSON.stringify(value, null, 1)}\n`;
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(path)) writeFileSync(path, text);
  expect(JSON.parse(text)).toEqual(JSON.parse(readFileSync(path, "utf8")));
}

describe.each(Object.entries(RUNS))("%s, recorded", (run, name) => {
  it("computes the matrix and findings the goldens hold", async () => {
    const scenario = findScenario(name);
    const trials = await load(run);
    expect(trials.length).toBeGreaterThan(0);
    const variants = trials.map((t) => t.variant).filter((v, i, all) => all.findIndex((w) => sameVariant(v, w)) === i);
    const findings = variants.flatMap((v) => scenario.analyse(v, trials.filter((t) => sameVariant(t.variant, v))));
    golden(join(FIXTURES, run, "matrix.golden.json"), scenario.render.runJson!(trials, findings));
    golden(join(FIXTURES, run, "findings.golden.json"), findings);
  });

  it("keeps the matrix contract: variant axes by name, TZ as its value, observed fields", async () => {
    const { matrix } = findScenario(name).render.runJson!(await load(run), []) as { matrix: Record<string, Record<string, unknown>>[] };
    for (const row of matrix) {
      expect(Object.keys(row.variant!)).toEqual(expect.arrayContaining(["probe", "tz", "zoneinfo", "localtime"]));
      expect(["go", "go-tzdata", "cgo-glibc", "cgo-musl"]).toContain(row.variant!.probe);
      expect(["none", "some", "all", "zip"]).toContain(row.variant!.zoneinfo);
      const tz = row.variant!.tz;
      expect(tz === null || typeof tz === "string").toBe(true);
      const o = row.observed!;
      expect(Object.keys(o)).toEqual(expect.arrayContaining(["local", "loadLocation", "setlocale", "opens"]));
      if (o.started) expect(Object.keys(o.local as object).sort()).toEqual(["abbrev", "name", "offsetS"]);
      if (String(row.variant!.probe).startsWith("cgo") && o.started) expect(Object.keys(o.libc as object).sort()).toEqual(["afterTzset", "localtime", "localtime_r"]);
      for (const open of o.opens as Record<string, unknown>[]) {
        expect(Object.keys(open).sort()).toEqual(["by", "errno", "op", "path"]);
        expect(["go", "libc", "other"]).toContain(open.by);
      }
    }
  });
});

describe("tz-gdb-snapshot, recorded", () => {
  it("pairs each time.localLoc with its checkpoint: empty before the first use, the reported zone after", async () => {
    for (const t of await load("tz-gdb-snapshot")) {
      const [before, after] = localLocSnapshots(observeTrial(t));
      expect(before, t.id).toMatchObject({ name: "", zones: 0 });
      expect(after!.zones, t.id).toBeGreaterThan(0);
      expect(after!.name, t.id).toBe(observeTrial(t).local!.name);
    }
  });
});

describe("who opened a file, checked against the captures", () => {
  it("Go's time package opens zone files without O_CLOEXEC, the C library with it", async () => {
    for (const t of await load("tz-matrix")) {
      const accesses = extractFileAccesses(t.records.strace ?? [], isTimeZonePath, String(t.variant.probe).startsWith("cgo"));
      for (const a of accesses.filter((a) => a.op === "open")) {
        expect(a.flags.includes("O_CLOEXEC"), `${t.id} ${a.path}`).toBe(a.by === "libc");
        // The double slash marks Go's zoneinfo directory joins only: /etc/localtime has none.
        if (a.path.includes("//")) expect(a.by, `${t.id} ${a.path}`).toBe("go");
      }
    }
  });

  it("glibc opens gconv-modules.cache without O_CLOEXEC: not Go's, though the flag rule alone would say so", async () => {
    const glibc = (await load("locale-missing")).filter((t) => t.variant.probe === "cgo-glibc");
    const gconv = glibc.flatMap((t) => extractFileAccesses(t.records.strace ?? [], isLocalePath, true)).filter((a) => a.path.endsWith("gconv-modules.cache"));
    expect(gconv.length).toBeGreaterThan(0);
    for (const a of gconv) {
      expect(a.flags).not.toContain("O_CLOEXEC");
      expect(a.by).toBe("other");
    }
  });

  it("a probe missing libc.so.6 is reported as not started, with the loader's error, not as a zone", async () => {
    const [trial] = await load("tz-matrix-nolibc");
    const o = observeTrial(trial!);
    expect(o.started).toBe(false);
    expect(o.local).toBeNull();
    expect(o.failure).toMatch(/libc\.so\.6: cannot open shared object file/);
    expect(o.exitCode).toBe(127);
    const findings = findScenario("tz-matrix").analyse(trial!.variant, [trial!]);
    for (const f of findings) {
      expect(f.verdict).toBe("inconclusive");
      expect(f.details?.notStarted).toBe(true);
      expect(f.evidence.some((r) => r.source === "strace" && /libc\.so\.6/.test(r.text))).toBe(true);
    }
  });
});
