import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findScenario } from "../../scenarios/index.js";
import { observeTrial, type TzObservation } from "../../scenarios/tz-common/observe.js";
import { launchers } from "../../src/probe/launchers.js";
import { runCleanups } from "../../src/cleanup.js";
import { createRuntime } from "../../src/runtime/index.js";
import type { RuntimeKind } from "../../src/runtime/runtime.js";
import { runScenario, type RunResult } from "../../src/scenario/run.js";
import type { Finding } from "../../src/evidence/schemas.js";
import type { ObserverName } from "../../src/capture/observer.js";
import { localLocSnapshots } from "../../scenarios/tz-gdb-snapshot/claims.js";
import { missingRuntime, missingTool, skipReason, skipUnlessCI } from "../support/prereq.js";

// Every tz and locale scenario for real, on short sweeps: real images (symlinks, cgo
// libraries, bind mounts), strace, the tz probe in its four builds. What is asserted is
// what the records computed; the expectations are this project's measured answers
// (glibc 2.36, musl 1.2.3), which the fixtures under test/fixtures/tz also hold.

const missing = async (runtime: RuntimeKind) =>
  skipReason((await missingRuntime(createRuntime(runtime, launchers))) ?? (await missingTool("strace")) ?? (await missingTool("musl-gcc")) ?? (await missingTool("gcc")));

let out: string;
beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), "forensics-tz-"));
});
afterAll(async () => {
  await runCleanups();
  await rm(out, { recursive: true, force: true });
});

async function run(name: string, runtime: RuntimeKind, axes: Record<string, string[]>, observers: ObserverName[] = ["strace"]): Promise<{ result: RunResult; obs: TzObservation[] }> {
  const result = await runScenario({
    scenario: findScenario(name),
    runtime,
    inits: ["none"],
    go: [undefined],
    axes,
    sweep: { trials: 1, observerSets: [observers], options: {} },
    outDir: out,
  });
  return { result, obs: result.trials.map(observeTrial) };
}

const finding = (r: RunResult, claim: string, axes: Record<string, string>): Finding => {
  const f = r.findings.find((f) => f.claim === claim && Object.entries(axes).every(([k, v]) => f.variant[k] === v));
  if (!f) throw new Error(`no ${claim} finding for ${JSON.stringify(axes)}`);
  return f;
};

describe.each<RuntimeKind>(["namespace", "docker"])("tz scenarios on the %s runtime", async (runtime) => {
  const why = await missing(runtime);
  describe.skipIf(why !== null)(why ?? "available", () => {
    it("tz-matrix: Go reads /etc/localtime itself, file or symlink, on every build; a dangling link gives UTC", async () => {
      const { result, obs } = await run("tz-matrix", runtime, { probe: ["go", "cgo-musl"], tz: ["unset"], localtime: ["file", "symlink", "dangling"] });
      for (const o of obs) {
        const lt = o.trial.variant.localtime;
        expect(o.localtimeSeen?.type, `${o.trial.id} sees the image's entry`).toBe(lt === "file" ? "file" : "symlink");
        expect(finding(result, "T1", { probe: String(o.trial.variant.probe), localtime: String(lt) }).verdict).toBe("confirmed");
        if (lt === "dangling") {
          expect(o.localtimeSeen?.targetError).toMatch(/ENOENT/);
          expect(o.local?.offsetS).toBe(0);
        } else {
          expect(o.local).toMatchObject({ name: "Local", offsetS: 8 * 3600 });
          expect(finding(result, "T2", { probe: String(o.trial.variant.probe), localtime: String(lt) }).verdict).toBe("refuted");
        }
      }
      const { matrix } = findScenario("tz-matrix").render.runJson!(result.trials, result.findings) as { matrix: { variant: Record<string, unknown> }[] };
      expect(matrix.map((r) => r.variant.tz)).toEqual(obs.map(() => null));
    }, 180_000);

    it("tz-localtime-mount: what a bind of a missing source onto /etc/localtime becomes", async () => {
      const { result, obs } = await run("tz-localtime-mount", runtime, { localtime: ["bind", "bind-missing"] });
      const missingSource = obs.find((o) => o.trial.variant.localtime === "bind-missing")!;
      const t5 = finding(result, "T5", { localtime: "bind-missing" });
      if (runtime === "namespace") {
        expect(missingSource.tzAccesses.find((a) => a.op === "mount")).toMatchObject({ errno: "ENOENT", path: "/etc/localtime" });
        expect(t5.verdict).toBe("confirmed");
      } else {
        // The engine creates the missing host path as a directory and mounts it.
        expect(missingSource.localtimeSeen?.type).toBe("directory");
        expect(missingSource.local?.name).toBe("UTC");
        expect(t5.verdict).toBe("refuted");
      }
      expect(obs.find((o) => o.trial.variant.localtime === "bind")!.local).toMatchObject({ offsetS: 8 * 3600 });
    }, 120_000);
  });
});

describe("tz scenarios on the namespace runtime only", async () => {
  const why = await missing("namespace");
  describe.skipIf(why !== null)(why ?? "available", () => {
    it("tz-cgo-cache: glibc's localtime_r keeps the stale zone until tzset, musl's does not; Go's time.Local never changes", async () => {
      const { result } = await run("tz-cgo-cache", "namespace", { probe: ["cgo-glibc", "cgo-musl", "go"], tzAt: ["image"] });
      const glibc = finding(result, "T4", { probe: "cgo-glibc" });
      expect(glibc.verdict).toBe("confirmed");
      expect(glibc.details).toMatchObject({ staleLocaltimeR: true, staleLocaltime: false });
      expect(finding(result, "T4", { probe: "cgo-musl" }).verdict).toBe("refuted");
      for (const probe of ["cgo-glibc", "cgo-musl", "go"]) expect(finding(result, "T4.go", { probe }).verdict).toBe("confirmed");
    }, 180_000);

    it("tz-missing-zoneinfo: no zoneinfo breaks LoadLocation and TZ silently; time/tzdata repairs both, ZONEINFO only LoadLocation", async () => {
      const { result } = await run("tz-missing-zoneinfo", "namespace", { probe: ["go", "go-tzdata"], zoneinfo: ["none", "zip"], tz: ["Asia/Shanghai"] });
      expect(finding(result, "T3", { probe: "go", zoneinfo: "none" }).verdict).toBe("confirmed");
      expect(finding(result, "T3.fix", { probe: "go-tzdata", zoneinfo: "none" }).verdict).toBe("confirmed");
      const zip = finding(result, "T3.fix", { probe: "go", zoneinfo: "zip" });
      expect(zip.details).toMatchObject({ loadLocation: true, local: false });
    }, 180_000);

    it("tz-dockerfile-order: glibc with TZ and no zoneinfo does not crash", async () => {
      const { result, obs } = await run("tz-dockerfile-order", "namespace", { probe: ["cgo-glibc"], tzAt: ["image", "late"] });
      for (const o of obs) expect([o.exitCode, o.failure]).toEqual([0, null]);
      for (const f of result.findings) expect(f.verdict).toBe("refuted");
    }, 120_000);

    it("locale-missing: pure Go opens no locale file; glibc's setlocale fails without the locale's files", async () => {
      const { result, obs } = await run("locale-missing", "namespace", { probe: ["go", "cgo-glibc"], lang: ["C.UTF-8"], locales: ["none", "C.utf8"] });
      for (const o of obs.filter((o) => o.trial.variant.probe === "go")) expect(o.localeAccesses).toEqual([]);
      expect(finding(result, "L1", { probe: "go", locales: "none" }).verdict).toBe("refuted");
      expect(obs.find((o) => o.trial.variant.probe === "cgo-glibc" && o.trial.variant.locales === "none")!.setlocale?.result).toBeNull();
      expect(obs.find((o) => o.trial.variant.probe === "cgo-glibc" && o.trial.variant.locales === "C.utf8")!.setlocale?.result).toBe("C.UTF-8");
    }, 120_000);


    it("tz-gdb-snapshot: gdb finds time.localLoc empty before the first use and equal to the reported zone after", async (ctx) => {
      if ((await missingTool("gdb")) !== null) return skipUnlessCI(ctx, "gdb on PATH");
      const { result, obs } = await run("tz-gdb-snapshot", "namespace", { tz: ["Asia/Shanghai", "unset"] }, ["gdb"]);
      for (const o of obs) {
        const [before, after] = localLocSnapshots(o);
        expect(before, o.trial.id).toMatchObject({ name: "", zones: 0 });
        expect(after?.name, o.trial.id).toBe(o.local?.name);
      }
      for (const f of result.findings.filter((f) => f.claim === "T6.lazy")) expect(f.verdict).toBe("confirmed");
      for (const f of result.findings.filter((f) => f.claim === "T6")) expect(f.verdict).toBe("refuted");
    }, 120_000);
  });
});
