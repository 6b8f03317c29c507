// `forensics audit` through the built CLI against FROM-scratch images made here from the
// fixture programs and host files, each assertion checked against what the image really
// holds. Docker, Go and busybox-static are prerequisites: missing, they skip the file on a
// laptop and fail it under CI=true.

import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import Docker from "dockerode";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditCheck, AuditReport } from "../../src/audit/check.js";
import { hasInterpreter } from "../../src/probe/elf.js";
import { hostGoArch } from "../../src/probe/go-toolchain.js";
import { ensureBuilt, expectOneErrorLine, makeSandbox, runCli, type CliResult } from "../cli/cli.js";
import { expectNothingLeft } from "../support/leftovers.js";
import { dockerReachable, skipReason } from "../support/prereq.js";
import { buildFixture, buildTestImage, removeAuditFixtures } from "../support/audit-fixtures.js";

const BUSYBOX = "/bin/busybox";
const GO_ROOT = "/usr/local/go";
const docker = new Docker();

async function missingPrerequisite(): Promise<string | null> {
  if (!(await dockerReachable())) return "a running Docker engine";
  // The shell goes into FROM-scratch images: Debian's dynamic busybox would not start there.
  if (!existsSync(BUSYBOX) || hasInterpreter(readFileSync(BUSYBOX))) return "a static /bin/busybox (apt-get install -y busybox-static)";
  if (!existsSync(`${GO_ROOT}/bin/go`)) return `Go at ${GO_ROOT}`;
  return null;
}

const skipped = skipReason(await missingPrerequisite());
const AUDIT_FAIL_EXIT = 3;
const BAD_INPUT_EXIT = 66;

interface Audited {
  result: CliResult;
  report: AuditReport;
  check(id: string): AuditCheck;
}

/** Runs `forensics audit TARGET --json` and asserts it left no container or temp file behind. */
async function audit(target: string): Promise<Audited> {
  const sandbox = await makeSandbox();
  const result = await runCli(["audit", target, "--json"], { sandbox });
  await expectNothingLeft({ pid: result.pid, sandbox, docker: true });
  expect(result.stderr, result.stderr).toBe("");
  const report = JSON.parse(result.stdout) as AuditReport;
  for (const c of report.checks) {
    expect(Object.keys(c).sort()).toEqual(["evidence", "fix", "id", "proveWith", "status"]);
    expect(["ok", "warn", "fail", "unknown"]).toContain(c.status);
  }
  return {
    result,
    report,
    check(id) {
      const found = report.checks.find((c) => c.id === id);
      expect(found, `check ${id} in ${report.checks.map((c) => c.id).join(", ")}`).toBeDefined();
      return found!;
    },
  };
}

const status = (a: Audited) => Object.fromEntries(a.report.checks.map((c) => [c.id, c.status]));

describe.skipIf(skipped !== null)(skipped ?? "audit", () => {
  const bins: Record<string, string> = {};
  const images: Record<string, string> = {};

  beforeAll(async () => {
    await ensureBuilt();
    const [plain, notify, stripped, tzdata, foreign] = await Promise.all([
      buildFixture("plain", { name: "plain" }),
      buildFixture("notify", { name: "notify" }),
      buildFixture("notify", { name: "stripped", flags: ["-ldflags=-s -w"] }),
      buildFixture("tzdata", { name: "tzdata" }),
      buildFixture("notify", { name: "foreign", env: { GOARCH: hostGoArch() === "arm64" ? "amd64" : "arm64" } }),
    ]);
    Object.assign(bins, { plain, notify, stripped, tzdata, foreign });
    const server = (hostPath: string) => ({ path: "/server", hostPath });
    const exec = 'ENTRYPOINT ["/server"]';
    const shanghai = "/usr/share/zoneinfo/Asia/Shanghai";
    const built = await Promise.all([
      buildTestImage("nonotify", [server(plain)], [exec]),
      buildTestImage("notify", [server(notify), { path: shanghai, hostPath: shanghai }, { path: "/etc/localtime", symlink: shanghai }], [exec]),
      // Dockerfile's shell form: the engine stores ["/bin/sh", "-c", "/server"].
      buildTestImage("shell", [server(plain), { path: "/bin/sh", hostPath: BUSYBOX }], ["CMD /server"]),
      buildTestImage("tz-missing", [server(plain)], [exec, "ENV TZ=Asia/Shanghai"]),
      buildTestImage("tz-embedded", [server(tzdata)], [exec, "ENV TZ=Asia/Shanghai"]),
      buildTestImage("stripped", [server(stripped), { path: "/etc/localtime", symlink: "/usr/share/zoneinfo/Nowhere/Gone" }], [exec]),
      buildTestImage("nongo", [{ path: "/bin/busybox", hostPath: BUSYBOX }], ['ENTRYPOINT ["/bin/busybox", "sleep", "3600"]']),
      buildTestImage(
        "nonroot",
        [server(notify)],
        [exec, "USER 65532:65532", 'HEALTHCHECK --interval=5s CMD ["/server", "-health"]', "STOPSIGNAL SIGINT", "ENV GOMEMLIMIT=400MiB LANG=C.UTF-8"],
      ),
      // A trimmed GOROOT: go, the linker and the arm64 port, but no compiler.
      buildTestImage(
        "toolchain",
        ["bin/go", `pkg/tool/linux_${hostGoArch()}/link`, "src/runtime/proc.go", "src/runtime/rt0_linux_arm64.s"].map((p) => ({ path: `${GO_ROOT}/${p}`, hostPath: `${GO_ROOT}/${p}` })),
        [`ENV PATH=${GO_ROOT}/bin`, 'ENTRYPOINT ["go"]'],
      ),
    ]);
    for (const [i, name] of ["nonotify", "notify", "shell", "tz-missing", "tz-embedded", "stripped", "nongo", "nonroot", "toolchain"].entries()) images[name] = built[i]!;
  }, 600_000);

  const fullGoImages: string[] = [];
  afterAll(async () => {
    await removeAuditFixtures();
    for (const tag of fullGoImages) await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
  });

  it("a Go server without Notify as PID 1: exec form, no init, Notify missing, root, no healthcheck", async () => {
    const a = await audit(images.nonotify!);
    expect(status(a)).toMatchObject({
      "pid1.form": "ok",
      "pid1.init": "warn",
      "binary.found": "ok",
      "binary.kind": "ok",
      "binary.linking": "ok",
      "binary.cgo": "ok",
      "binary.notify": "warn",
      "binary.tzdata": "warn",
      "binary.debug": "ok",
      "tz.zoneinfo": "warn",
      "tz.local": "ok",
      "locale.lang": "ok",
      "config.user": "warn",
      "config.healthcheck": "warn",
      "config.stop": "ok",
      "config.memory": "warn",
    });
    expect(a.result.exitCode).toBe(0);
    expect(a.check("binary.kind").evidence).toMatch(/go1\.\d+.*example\.com\/auditfixture\/plain.*main module example\.com\/auditfixture/);
    expect(a.check("binary.notify").proveWith).toBe(`forensics run sigterm-race --image ${images.nonotify}`);
    expect(a.check("pid1.init").fix).toMatch(/--init/);
    expect(a.report.checks.some((c) => c.id.startsWith("toolchain."))).toBe(false);
    expect(a.report.target).toMatchObject({ kind: "image", reference: images.nonotify, platform: `linux/${hostGoArch()}`, program: "/server" });
  });

  it("the same server with Notify, zoneinfo and /etc/localtime", async () => {
    const a = await audit(images.notify!);
    expect(status(a)).toMatchObject({ "pid1.init": "ok", "binary.notify": "ok", "tz.zoneinfo": "ok", "tz.local": "ok", "binary.tzdata": "ok" });
    expect(a.check("tz.local").evidence).toContain("/etc/localtime → /usr/share/zoneinfo/Asia/Shanghai");
  });

  it("a shell-form CMD with BusyBox as /bin/sh: warned, and BusyBox really execs the program into PID 1", async () => {
    const a = await audit(images.shell!);
    expect(a.check("pid1.form")).toMatchObject({ status: "warn", proveWith: `forensics run sigterm-race --image ${images.shell}` });
    expect(a.check("pid1.form").evidence).toMatch(/\["\/bin\/sh","-c","\/server"\].*BusyBox/);
    expect(a.check("binary.found").evidence).toContain("/server");
    // What the audit says from the bytes, checked by running the image once.
    const container = await docker.createContainer({ Image: images.shell!, NetworkDisabled: true, Labels: { "forensics.audit-test": "1" } });
    try {
      await container.start();
      const { State } = await container.inspect();
      const { readFile } = await import("node:fs/promises");
      expect((await readFile(`/proc/${State.Pid}/comm`, "utf8")).trim()).toBe("server");
    } finally {
      await container.remove({ force: true });
    }
  });

  it("TZ set in an image without zoneinfo fails; the same with time/tzdata embedded passes", async () => {
    const missing = await audit(images["tz-missing"]!);
    expect(status(missing)).toMatchObject({ "tz.zoneinfo": "fail", "tz.local": "fail" });
    expect(missing.check("tz.local").proveWith).toBe(`forensics run tz-matrix --image ${images["tz-missing"]}`);
    expect(missing.check("tz.zoneinfo").evidence).toContain("TZ=Asia/Shanghai");
    expect(missing.result.exitCode).toBe(AUDIT_FAIL_EXIT);
    const embedded = await audit(images["tz-embedded"]!);
    expect(status(embedded)).toMatchObject({ "tz.zoneinfo": "ok", "tz.local": "ok", "binary.tzdata": "ok" });
    expect(embedded.result.exitCode).toBe(0);
  });

  it("a stripped binary: no DWARF or symbols, but Notify is still found in Go's function table; a dangling /etc/localtime", async () => {
    const a = await audit(images.stripped!);
    expect(status(a)).toMatchObject({ "binary.debug": "warn", "binary.notify": "ok", "tz.local": "warn" });
    expect(a.check("tz.local").evidence).toContain("/etc/localtime → /usr/share/zoneinfo/Nowhere/Gone (dangling)");
    expect(a.check("binary.debug").evidence).toMatch(/neither a symbol table nor DWARF/);
  });

  it("a static program that is not Go is reported as such, without Go checks", async () => {
    const a = await audit(images.nongo!);
    expect(a.check("binary.kind")).toMatchObject({ status: "ok" });
    expect(a.check("binary.kind").evidence).toMatch(/not a Go program/);
    expect(a.check("pid1.init").status).toBe("warn");
    expect(a.report.checks.map((c) => c.id)).not.toContain("binary.notify");
    expect(a.report.checks.map((c) => c.id)).not.toContain("config.memory");
    expect(a.result.exitCode).toBe(0);
  });

  it("a non-root USER with HEALTHCHECK, STOPSIGNAL and GOMEMLIMIT", async () => {
    const a = await audit(images.nonroot!);
    expect(status(a)).toMatchObject({ "config.user": "ok", "config.healthcheck": "ok", "config.stop": "ok", "config.memory": "ok", "locale.lang": "ok" });
    expect(a.check("config.user").evidence).toContain("65532:65532");
    expect(a.check("config.stop").evidence).toMatch(/STOPSIGNAL SIGINT; stop timeout: the engine's default 10 s/);
    // Only SIGTERM has a scenario that proves it.
    expect(a.check("config.stop").proveWith).toBeNull();
  });

  it("a builder image with a go binary gets the seed's chapter 1 checks, read from what it holds", async () => {
    const a = await audit(images.toolchain!);
    expect(status(a)).toMatchObject({ "toolchain.version": "ok", "toolchain.goroot": "fail", "toolchain.static-build": "ok", "toolchain.cross-build": "ok" });
    const hostGo = (await import("node:child_process")).execFileSync(`${GO_ROOT}/bin/go`, ["env", "GOVERSION"], { encoding: "utf8" }).trim();
    expect(a.check("toolchain.version").evidence).toContain(hostGo);
    expect(a.check("toolchain.goroot").evidence).toMatch(new RegExp(`lacks ${GO_ROOT}/pkg/tool/linux_${hostGoArch()}/compile`));
  });

  it("--build runs the seed's chapter 1 builds with the image's go, offline, in throwaway containers", async () => {
    // The whole GOROOT, sent as a local build context (about 250 MB; no registry).
    const tag = `forensics-audit-test/go-full:${process.pid}`;
    fullGoImages.push(tag);
    await execa("docker", ["build", "-q", "-t", tag, "-f", "-", GO_ROOT], { input: `FROM scratch\nCOPY . ${GO_ROOT}/\nENV PATH=${GO_ROOT}/bin\nENTRYPOINT ["go"]\n` });
    const sandbox = await makeSandbox();
    const r = await runCli(["audit", tag, "--build", "--json"], { sandbox, timeout: 900_000 });
    await expectNothingLeft({ pid: r.pid, sandbox, docker: true });
    const checks = Object.fromEntries((JSON.parse(r.stdout) as AuditReport).checks.map((c) => [c.id, c]));
    const machine = hostGoArch() === "arm64" ? "AArch64" : "x86-64";
    expect(checks["toolchain.goroot"]?.status).toBe("ok");
    expect(checks["toolchain.static-build"]).toMatchObject({ status: "ok", evidence: expect.stringContaining(`a static ${machine} ELF, no PT_INTERP`) });
    expect(checks["toolchain.cross-build"]).toMatchObject({ status: "ok", evidence: expect.stringContaining("GOARCH=arm64 go build (throwaway container, no network): a static AArch64 ELF") });
  }, 900_000);

  it("the table groups by topic and gives the fix and proving command under each warn or fail", async () => {
    const sandbox = await makeSandbox();
    const r = await runCli(["audit", images["tz-missing"]!], { sandbox });
    expect(r.exitCode).toBe(AUDIT_FAIL_EXIT);
    expect(r.stdout).toMatch(/^forensics audit forensics-audit-test\/tz-missing:\d+ \([0-9a-f]{12}, linux\/\w+, program \/server\)\n/);
    for (const heading of ["PID 1 and signals", "Program binary", "Time zone", "Locale", "Container config"]) expect(r.stdout).toContain(`\n${heading}\n`);
    expect(r.stdout).toMatch(/✗ tz\.zoneinfo +no zoneinfo.*\n +fix: +import _ "time\/tzdata".*\n +prove: forensics run tz-matrix --image /);
    expect(r.stdout).toMatch(/\d+ ok, \d+ warn, 2 fail, 0 unknown$/);
  });

  it("a binary path gets the binary checks only", async () => {
    const a = await audit(bins.stripped!);
    expect(a.report.target).toEqual({ kind: "binary", path: bins.stripped });
    expect(a.report.checks.map((c) => c.id)).toEqual(["binary.kind", "binary.linking", "binary.cgo", "binary.notify", "binary.tzdata", "binary.debug"]);
    expect(a.check("binary.notify").proveWith).toBe(`forensics run sigterm-race --binary ${bins.stripped}`);
    expect(a.result.exitCode).toBe(0);
  });

  describe("bad input: one line, a distinct exit status, nothing left behind", () => {
    const expectBadInput = async (target: string, message: RegExp) => {
      const sandbox = await makeSandbox();
      const r = await runCli(["audit", target], { sandbox });
      expect(r.exitCode, r.stderr).toBe(BAD_INPUT_EXIT);
      expect(r.stdout).toBe("");
      expect(expectOneErrorLine(r.stderr, { progress: false })).toMatch(message);
      await expectNothingLeft({ pid: r.pid, sandbox, docker: true });
    };

    it("an image the engine does not have", () => expectBadInput("forensics-audit-test/no-such-image:none", /no image "forensics-audit-test\/no-such-image:none" in the local engine \(audit never pulls\)/));

    it("a path that does not exist", () => expectBadInput("/nonexistent/forensics/server", /\/nonexistent\/forensics\/server: no such file/));

    it("a binary for another machine", () => expectBadInput(bins.foreign!, /is not an executable for this machine \(linux\/\w+\): a \S+ program/));

    it("no Docker engine: exit 70, one line naming the fix", async () => {
      const sandbox = await makeSandbox();
      const r = await runCli(["audit", images.nonotify!], { sandbox, env: { DOCKER_HOST: `unix://${join(sandbox.dir, "no-engine.sock")}` } });
      expect(r.exitCode, r.stderr).toBe(70);
      expect(expectOneErrorLine(r.stderr, { progress: false })).toMatch(/Docker engine not reachable: .*Start it/);
    });

    it("a file that is not a program", async () => {
      const sandbox = await makeSandbox();
      const notes = join(sandbox.dir, "notes.txt");
      await writeFile(notes, "not a program\n");
      await expectBadInput(notes, /notes\.txt is not an executable for this machine: not an ELF file/);
    });
  });
});
