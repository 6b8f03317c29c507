import { describe, expect, it } from "vitest";
import { readPtraceVerdict } from "../../src/doctor/checks.js";
import { judgeGoToolchain, parseGoVersion, readGoDirective } from "../../src/doctor/go-version.js";
import { formatDoctorReport, judgeDoctor, type DoctorCheck } from "../../src/doctor/report.js";

const check = (id: string, ok: boolean, blocks: DoctorCheck["blocks"], fix?: string): DoctorCheck => ({
  id,
  title: id,
  ok,
  detail: ok ? `${id} found` : `${id} missing`,
  ...(fix ? { fix } : {}),
  blocks,
});

describe("judgeDoctor", () => {
  it("keeps the default runtime ready when only Docker is down", () => {
    const report = judgeDoctor([
      check("strace", true, ["runtime:namespace"]),
      check("docker", false, ["runtime:docker"], "systemctl start docker"),
    ]);
    expect(report).toMatchObject({ ok: false, defaultRuntimeReady: true });
  });

  it("is not ready when a check the namespace runtime needs fails", () => {
    const report = judgeDoctor([check("ptrace", false, ["runtime:namespace", "attachment:strace"], "sysctl -w kernel.yama.ptrace_scope=0")]);
    expect(report).toMatchObject({ ok: false, defaultRuntimeReady: false });
  });
});

describe("formatDoctorReport", () => {
  it("prints a row per check, then each failure's fix and blocks, default-runtime blockers first", () => {
    const report = judgeDoctor([
      check("go", true, ["runtime:namespace"]),
      check("docker", false, ["runtime:docker"], "systemctl start docker"),
      check("ptrace", false, ["runtime:namespace"], "sysctl -w kernel.yama.ptrace_scope=0"),
    ]);
    expect(formatDoctorReport(report)).toBe(
      [
        "✓ go      go found",
        "✗ docker  docker missing",
        "✗ ptrace  ptrace missing",
        "",
        "The default runtime (namespace) cannot run here. Fix these first:",
        "",
        "✗ ptrace",
        "    fix:    sysctl -w kernel.yama.ptrace_scope=0",
        "    blocks: runtime:namespace",
        "",
        "✗ docker",
        "    fix:    systemctl start docker",
        "    blocks: runtime:docker",
        "",
      ].join("\n"),
    );
  });

  it("says so when everything passed", () => {
    expect(formatDoctorReport(judgeDoctor([check("go", true, ["runtime:namespace"])]))).toBe(
      "✓ go  go found\n\nThe default runtime (namespace) is ready; everything else is too.\n",
    );
  });
});

describe("judgeGoToolchain", () => {
  it("accepts a go at least as new as go.mod's directive", () => {
    expect(judgeGoToolchain("go1.26.8", "1.26", "local")).toEqual({ ok: true, note: "probes need go >= 1.26" });
  });

  it("accepts an older go that may fetch the required toolchain", () => {
    expect(judgeGoToolchain("go1.24.3", "1.26", "auto")).toMatchObject({ ok: true, note: expect.stringMatching(/downloads it/) });
  });

  it("fails an older go pinned with GOTOOLCHAIN=local, and one too old to switch", () => {
    expect(judgeGoToolchain("go1.24.3", "1.26", "local")).toMatchObject({ ok: false, fix: expect.stringMatching(/GOTOOLCHAIN=auto/) });
    expect(judgeGoToolchain("go1.20.1", "1.26", "auto").ok).toBe(false);
  });

  it("orders release candidates before the release", () => {
    expect(parseGoVersion("go1.27rc1")).toEqual([1, 27, -1]);
    expect(judgeGoToolchain("go1.26rc2", "1.26.0", "local").ok).toBe(false);
  });

  it("reads the go directive of a go.mod", () => {
    expect(readGoDirective("module forensics/probes\n\ngo 1.26\n")).toBe("1.26");
    expect(readGoDirective("module x\n")).toBeNull();
  });
});

describe("readPtraceVerdict", () => {
  // strace 6.1's stderr, attaching as root, and from a user namespace without CAP_SYS_PTRACE.
  it("tells an attach from a denial", () => {
    expect(readPtraceVerdict("strace: Process 7237 attached\nstrace: Process 7237 detached\n")).toBe("attached");
    expect(readPtraceVerdict("strace: attach: ptrace(PTRACE_SEIZE, 5071): Operation not permitted\n")).toBe("denied");
    expect(readPtraceVerdict("strace: attach: ptrace(PTRACE_SEIZE, 1): No such process\n")).toBe("failed");
  });
});
