import { access, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import initStack from "../../scenarios/init-stack/index.js";
import { analyseInitStackTrial, type InitStackTrial } from "../../scenarios/init-stack/analysis.js";
import { resolveTool } from "../../src/capture/tools.js";
import { runJson } from "../../src/cli/run-report.js";
import { loadRawTrials } from "../../src/evidence/load.js";
import { readGoRuntime, splitSnapshots } from "../../src/evidence/go-runtime.js";
import { launchers } from "../../src/probe/launchers.js";
import { runCleanups } from "../../src/cleanup.js";
import { createRuntime } from "../../src/runtime/index.js";
import type { InitKind, RuntimeKind } from "../../src/runtime/runtime.js";
import { runScenario, type RunResult } from "../../src/scenario/run.js";
import { expectNothingLeft } from "../support/leftovers.js";
import { missingRoot, missingRuntime, missingTool, skipReason } from "../support/prereq.js";

// The seed's §4.4 repro for real: gdb holds the Go program inside runtime.sighandler while
// `kill -CHLD 1` reaches tini/dumb-init. Checked: the records agree with each other (each
// thread's stack class follows from its $rsp and the ranges gdb printed; the init's $rsp
// lies in the mapping reported), the raw /proc captures exist, and the verdict follows.

const missingGdb = () => resolveTool("gdb").then(() => null, () => "gdb on PATH");
const INITS: Record<RuntimeKind, InitKind[]> = { namespace: ["tini", "dumb-init"], docker: ["docker-init"] };

describe.each<RuntimeKind>(["namespace", "docker"])("init-stack on the %s runtime", async (runtime) => {
  const missing = skipReason(missingRoot() ?? (await missingRuntime(createRuntime(runtime, launchers))) ?? (await missingGdb()) ?? (await missingTool("strace")));
  describe.skipIf(missing !== null)(missing ?? "available", () => {
    let out: string;
    let result: RunResult;
    let trials: InitStackTrial[];

    beforeAll(async () => {
      out = await mkdtemp(join(tmpdir(), "forensics-it-initstack-"));
      result = await runScenario({
        scenario: initStack,
        runtime,
        inits: INITS[runtime],
        go: [undefined],
        sweep: { trials: 1, observerSets: [["gdb"], ["strace"]], options: {} },
        outDir: out,
      });
      trials = result.trials.map(analyseInitStackTrial);
    }, 180_000);

    afterAll(async () => {
      await runCleanups();
      await rm(out, { recursive: true, force: true });
    });

    it("stops the program in runtime.sighandler and reads every thread's stack", () => {
      const gdb = trials.filter((t) => t.inHandler !== null);
      expect(gdb).toHaveLength(INITS[runtime].length);
      for (const t of gdb) {
        expect(t.inHandler, `${t.trial}: ${t.problems.join("; ")}`).toBe(true);
        expect(t.handlerFrames[0], t.trial).toBe("runtime.sighandler");
        expect(t.threads.length, t.trial).toBeGreaterThan(3);
        expect(t.threads.filter((th) => th.handling), t.trial).toHaveLength(1);
        // Each class is what the ranges gdb printed say about that $rsp.
        const evidence = result.trials.find((e) => e.id === t.trial)!;
        const reading = readGoRuntime(splitSnapshots(evidence.records.gdb!).at(-1)!);
        if (reading.kind !== "read") throw new Error(reading.reason);
        for (const th of t.threads) {
          const raw = reading.threads.find((r) => r.lwp === th.lwp)!;
          const inside = (r: { lo: number | string; hi: number | string } | null) => r !== null && BigInt(r.lo) <= BigInt(th.rsp!) && BigInt(th.rsp!) < BigInt(r.hi);
          const expected = inside(raw.gsignal) ? "gsignal" : inside(raw.g0) ? "g0" : inside(raw.stack) ? "goroutine" : "none";
          expect(th.inStack, `${t.trial} LWP ${th.lwp}`).toBe(expected);
        }
      }
    });

    it("finds PID 1 apart from the program, on its own stack mapping, with the raw /proc captures saved", async () => {
      for (const t of trials) {
        expect(t.pid1, t.trial).not.toBe(t.programPid);
        expect(t.init, t.trial).not.toBeNull();
        const [lo, hi] = t.init!.mapping!.match(/0x[0-9a-f]+/g)!.map((x) => BigInt(x));
        expect(BigInt(t.init!.rsp!) >= lo! && BigInt(t.init!.rsp!) < hi!, t.trial).toBe(true);
        expect(t.programMapsInitBinary, t.trial).toBe(false);
        const evidence = result.trials.find((e) => e.id === t.trial)!;
        const dir = join(result.bundle, evidence.raw["runtime.jsonl"]!, "..");
        for (const f of ["init-maps.txt", "program-maps.txt", "init-syscall.txt"]) await access(join(dir, f));
      }
    });

    it("sees, with strace, each thread install its signal stack with sigaltstack", () => {
      for (const t of trials.filter((x) => x.altStacks !== null)) {
        expect(t.altStacks!.length, t.trial).toBeGreaterThanOrEqual(4);
        // tini and dumb-init are traced (they exec the gate); docker-init is the gate's parent.
        if (runtime === "namespace") expect(t.initSigchld, t.trial).toBe("sigtimedwait");
      }
    });

    it("states S6 from those records", () => {
      for (const variant of result.variants) {
        const f = result.findings.find((x) => x.variant.init === variant.init)!;
        const mine = trials.filter((t) => result.trials.find((e) => e.id === t.trial)!.variant.init === variant.init && t.inHandler === true);
        const outside = mine.some((t) => t.threads.some((th) => th.inStack === "none"));
        const clean = mine.every((t) => t.threads.find((th) => th.handling)?.inStack === "gsignal" && /\[stack\]/.test(t.init?.mapping ?? "") && t.programAliveAfter === true);
        expect(f.verdict).toBe(outside ? "confirmed" : clean ? "refuted" : "inconclusive");
        expect(f.evidence.some((r) => r.source === "gdb")).toBe(true);
        expect(f.evidence.some((r) => r.source === "strace")).toBe(true);
      }
    });

    it("carries the contract's measured shape in run --json, and the bundle rebuilds the same trials", async () => {
      const doc = runJson(initStack, result.bundle, result.trials, result.findings) as { trials: { measured: { threads: unknown[]; init: unknown } }[] };
      for (const t of doc.trials) {
        for (const th of t.measured.threads) expect(Object.keys(th as object).sort()).toEqual(["inStack", "lwp", "rsp"]);
        expect(Object.keys(t.measured.init as object).sort()).toEqual(["mapping", "rsp"]);
      }
      expect(await loadRawTrials(result.bundle)).toEqual(result.trials);
    });

    it("leaves nothing behind", async () => {
      await expectNothingLeft({ runIds: [basename(result.bundle)], docker: runtime === "docker" });
    });
  });
});

describe("init-stack when gdb cannot do its part", async () => {
  const missing = skipReason(missingRoot() ?? (await missingRuntime(createRuntime("namespace", launchers))) ?? (await missingGdb()));
  describe.skipIf(missing !== null)(missing ?? "available", () => {
    const out = { dir: "" };
    beforeAll(async () => {
      out.dir = await mkdtemp(join(tmpdir(), "forensics-it-initstack-fault-"));
    });
    afterAll(async () => {
      await runCleanups();
      await rm(out.dir, { recursive: true, force: true });
    });

    it.each([
      ["a function this Go does not have", "runtime.noSuchFunction", /could not set a breakpoint at runtime\.noSuchFunction/],
      ["a breakpoint never hit", "runtime.dieFromSignal", /not hit within \d+ ms/],
    ])("%s: an inconclusive S6 that says which, the rest of the evidence kept, bounded", async (_name, breakpoint, says) => {
      const started = Date.now();
      const result = await runScenario({
        scenario: initStack,
        runtime: "namespace",
        inits: ["tini"],
        go: [undefined],
        sweep: { trials: 1, observerSets: [["gdb"]], options: { breakpoint } },
        outDir: out.dir,
      });
      expect(Date.now() - started).toBeLessThan(30_000);
      const t = analyseInitStackTrial(result.trials[0]!);
      expect(t.inHandler).toBe(false);
      expect(t.problems.join("; ")).toMatch(says);
      // What did not need the breakpoint is still there: the init's position and both maps.
      expect(t.init?.mapping).toMatch(/\[stack\]/);
      expect(result.findings[0]).toMatchObject({ claim: "S6", verdict: "inconclusive", summary: expect.stringMatching(says) });
      await expectNothingLeft({ runIds: [basename(result.bundle)] });
    });

    it("a program that dies while gdb holds it: inconclusive, saying so, within the bound", async () => {
      // SIGKILL the probe of this harness (FORENSICS_OWNER) once gdb traces it, during the continue.
      let killed = 0;
      const stop = new AbortController();
      const killer = (async () => {
        while (!stop.signal.aborted && killed === 0) {
          for (const pid of await tracedProbes()) {
            process.kill(pid, "SIGKILL");
            killed = pid;
          }
          await sleep(20);
        }
      })();
      const started = Date.now();
      const result = await runScenario({
        scenario: initStack,
        runtime: "namespace",
        inits: ["tini"],
        go: [undefined],
        sweep: { trials: 1, observerSets: [["gdb"]], options: { breakpoint: "runtime.dieFromSignal" } },
        outDir: out.dir,
      }).finally(() => stop.abort());
      await killer;
      expect(killed).toBeGreaterThan(0);
      expect(Date.now() - started).toBeLessThan(30_000);
      const t = analyseInitStackTrial(result.trials[0]!);
      expect(t.inHandler).toBe(false);
      expect(t.problems.join("; ")).toMatch(/exited while gdb held it|no such process|has exited/i);
      expect(result.findings[0]).toMatchObject({ claim: "S6", verdict: "inconclusive" });
      // The trial itself is kept: its notes and gdb's transcript.
      expect(t.refs.breakpoint ?? t.refs.sigchld).not.toBeNull();
      expect(result.trials[0]!.raw["gdb.log"]).toBeDefined();
      await expectNothingLeft({ runIds: [basename(result.bundle)] });
    });
  });
});

/** Host PIDs of this harness's namespace-container probes (FORENSICS_OWNER) that a tracer holds. */
async function tracedProbes(): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir("/proc").catch((): string[] => [])) {
    if (!/^\d+$/.test(name)) continue;
    const [comm, env, status] = await Promise.all([
      readFile(`/proc/${name}/comm`, "utf8").catch(() => ""),
      readFile(`/proc/${name}/environ`, "utf8").catch(() => ""),
      readFile(`/proc/${name}/status`, "utf8").catch(() => ""),
    ]);
    if (comm.trim() !== "probe" || !env.split("\0").includes(`FORENSICS_OWNER=${process.pid}`)) continue;
    if (Number(status.match(/^TracerPid:\s*(\d+)/m)?.[1] ?? 0) !== 0) out.push(Number(name));
  }
  return out;
}
