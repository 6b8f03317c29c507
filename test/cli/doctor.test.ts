import { existsSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { findPackageRoot } from "../../src/probe/package-root.js";

// Runs the built CLI as a user would; the checks run for real on this host.
const root = findPackageRoot();

const Report = z
  .object({
    ok: z.boolean(),
    defaultRuntimeReady: z.boolean(),
    checks: z.array(
      z
        .object({
          id: z.string(),
          title: z.string().min(1),
          ok: z.boolean(),
          detail: z.string().min(1),
          fix: z.string().min(1).optional(),
          blocks: z.array(z.string().regex(/^[a-z]+:[\w/-]+$/)),
        })
        .strict(),
    ),
  })
  .strict();

const CHECK_IDS = ["go", "static-build", "cross-build", "strace", "gdb", "ptrace", "pid-namespace", "docker", "tini", "dumb-init", "tracefs", "tracepoints", "uprobes"];

const doctor = (args: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, [join(root, "bin", "forensics.js"), "doctor", ...args], { cwd: root, env, reject: false, timeout: 120_000 });

beforeAll(async () => {
  if (!existsSync(join(root, "dist", "src", "cli", "commands", "doctor.js"))) {
    // tsc still emits when files others are editing do not typecheck.
    await execa("npx", ["tsc", "-p", "tsconfig.json"], { cwd: root, reject: false });
  }
  expect(existsSync(join(root, "dist", "src", "cli", "commands", "doctor.js")), "tsc emitted the doctor command").toBe(true);
});

describe("forensics doctor", () => {
  it("--json reports every check, and the default runtime is ready on this host", async () => {
    const result = await doctor(["--json"]);
    const report = Report.parse(JSON.parse(result.stdout));
    expect(report.checks.map((c) => c.id)).toEqual(CHECK_IDS);
    for (const c of report.checks.filter((c) => !c.ok)) expect(c.fix, `${c.id} failed without a fix`).toBeDefined();
    const blockers = report.checks.filter((c) => c.blocks.includes("runtime:namespace") && !c.ok);
    expect(blockers, "checks that keep the namespace runtime from working").toEqual([]);
    expect(report.defaultRuntimeReady).toBe(true);
    expect(result.exitCode).toBe(0);
  });

  it("fails the docker check, with a fix, when DOCKER_HOST names nothing; the exit status stays 0", async () => {
    const result = await doctor(["--json"], { DOCKER_HOST: "tcp://127.0.0.1:1" });
    const report = Report.parse(JSON.parse(result.stdout));
    const docker = report.checks.find((c) => c.id === "docker");
    expect(docker).toMatchObject({ ok: false, detail: expect.stringContaining("tcp://127.0.0.1:1"), fix: expect.stringContaining("DOCKER_HOST") });
    expect(docker?.blocks).toEqual(["runtime:docker", "init:docker-init"]);
    expect(report).toMatchObject({ ok: false, defaultRuntimeReady: true });
    expect(result.exitCode).toBe(0);
  });

  it("exits 69 and names the fixes when the default runtime cannot run (no strace, no unshare on PATH)", async () => {
    const result = await doctor([], { PATH: "/nonexistent" });
    expect(result.exitCode).toBe(69);
    expect(result.stdout).toMatch(/^✗ strace +strace is not on PATH$/m);
    expect(result.stdout).toContain("The default runtime (namespace) cannot run here. Fix these first:");
    expect(result.stdout).toMatch(/✗ strace\n {4}fix: {4}apt-get install -y strace\n {4}blocks: runtime:namespace, attachment:strace/);
  });

  it("--help says what is checked and what the exit status means", async () => {
    const result = await doctor(["--help"]);
    expect(result.stdout).toContain("--json");
    expect(result.stdout).toMatch(/Exit status: 0 when the default runtime \(namespace\)/);
  });
});
