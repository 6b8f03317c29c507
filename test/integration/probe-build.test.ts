import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isHarnessError } from "../../src/errors.js";
import { buildProbe } from "../../src/probe/build.js";
import { hasDwarf, hasInterpreter } from "../../src/probe/elf.js";
import { makeGoEnv, readGoEnv, resolveGoBinary, runGoBuild } from "../../src/probe/go-toolchain.js";

// A private probe cache, so the first build is a real one; Go's own build cache stays the
// user's (it would follow XDG_CACHE_HOME otherwise) so the test does not recompile std.
let cacheHome: string;
let go: string;
const saved = { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, GOCACHE: process.env.GOCACHE };

beforeAll(async () => {
  go = await resolveGoBinary();
  const { GOCACHE } = await readGoEnv(["GOCACHE"], { go, cwd: tmpdir(), env: makeGoEnv() });
  cacheHome = await mkdtemp(join(tmpdir(), "forensics-probe-cache-"));
  process.env.GOCACHE = GOCACHE;
  process.env.XDG_CACHE_HOME = cacheHome;
});

afterAll(async () => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await rm(cacheHome, { recursive: true, force: true });
});

/** The HarnessError a promise rejects with. */
async function harnessFault(promise: Promise<unknown>) {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!isHarnessError(err)) throw new Error(`expected a HarnessError, got ${String(err)}`);
  return err;
}

describe("buildProbe", () => {
  it("builds a static binary that keeps its DWARF, then serves it from the cache", async () => {
    const first = await buildProbe("sigterm");
    expect(first).toMatchObject({ name: "sigterm", cached: false, goVersion: expect.stringMatching(/^go1\.\d+/) });
    expect(isAbsolute(first.path)).toBe(true);
    expect(first.path).toBe(join(cacheHome, "forensics", "probes", first.hash, "sigterm"));
    const bytes = await readFile(first.path);
    expect(hasInterpreter(bytes)).toBe(false);
    expect(hasDwarf(bytes)).toBe(true);
    const builtAt = (await stat(first.path)).mtimeMs;

    const second = await buildProbe("sigterm");
    expect(second).toEqual({ ...first, cached: true });
    expect((await stat(second.path)).mtimeMs).toBe(builtAt);
  });

  it("refuses a name that is no probe with BAD_INPUT, in one line naming the probes there are", async () => {
    for (const name of ["no-such-probe", "../go-probes/gate", "internal/report", "Gate"]) {
      const err = await harnessFault(buildProbe(name));
      expect(err.code).toBe("BAD_INPUT");
      expect(err.message).toMatch(/no probe named .*: use one of .*gate.*sigterm/);
      expect(err.message).not.toContain("\n");
    }
  });

  it("reports a compile error as GO_BUILD_FAILED with the first error in one line", async () => {
    const module = await mkdtemp(join(tmpdir(), "forensics-bad-probe-"));
    try {
      await writeFile(join(module, "go.mod"), "module bad\n\ngo 1.22\n");
      await mkdir(join(module, "broken"));
      await writeFile(join(module, "broken", "main.go"), "package main\n\nfunc main() {\n\tundefinedThing()\n}\n");
      const env = { ...makeGoEnv(), CGO_ENABLED: "0" };
      const err = await harnessFault(runGoBuild(["./broken"], join(module, "out"), { go, cwd: module, env }));
      expect(err.code).toBe("GO_BUILD_FAILED");
      expect(err.message).toMatch(/failed: broken\/main\.go:4:2: undefined: undefinedThing: fix that line and run again$/);
      expect(err.message).not.toContain("\n");
    } finally {
      await rm(module, { recursive: true, force: true });
    }
  });

  // The first run downloads the toolchain (~75 MB) into GOMODCACHE; later runs reuse it.
  it("builds with a named toolchain through GOTOOLCHAIN and reports it", { timeout: 300_000 }, async () => {
    const progress: string[] = [];
    const built = await buildProbe("sigterm", { go: "1.27.3", onProgress: (msg) => progress.push(msg) });
    expect(built.goVersion).toBe("go1.27.3");
    expect(built.cached).toBe(false);
    expect(progress).toContain("building probe sigterm with go1.27.3");
    // What the binary itself records, not what the builder claims.
    const { stdout } = await execa(go, ["version", built.path]);
    expect(stdout).toBe(`${built.path}: go1.27.3`);
    expect(hasInterpreter(await readFile(built.path))).toBe(false);

    const host = await buildProbe("sigterm");
    expect(host.hash).not.toBe(built.hash);
  });
});
