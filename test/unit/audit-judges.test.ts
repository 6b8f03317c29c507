// The pure parts of audit: who is PID 1 from ENTRYPOINT/CMD, where a command is looked up,
// and the PID 1 and time-zone judges on facts made by hand, case by case.

import { describe, expect, it } from "vitest";
import { commandCandidates, readPid1 } from "../../src/audit/entrypoint.js";
import type { ImageFacts, ToolchainBuild, ToolchainFacts } from "../../src/audit/image-facts.js";
import { judgeImage } from "../../src/audit/image-checks.js";
import { auditExitCode, AUDIT_FAIL_EXIT } from "../../src/audit/report.js";

describe("readPid1", () => {
  it.each([
    [["/server"], null, { form: "exec", init: null, program: "/server" }],
    [null, ["/server", "-port", "80"], { form: "exec", init: null, program: "/server" }],
    [["/tini", "--"], ["/server"], { form: "exec", init: { name: "tini", path: "/tini" }, program: "/server" }],
    [["tini", "-s", "-p", "SIGTERM", "/server"], null, { form: "exec", init: { name: "tini", path: "tini" }, program: "/server" }],
    [["/usr/bin/dumb-init", "--rewrite", "15:2", "/server"], null, { form: "exec", init: { name: "dumb-init", path: "/usr/bin/dumb-init" }, program: "/server" }],
    [["/init"], ["/server"], { form: "exec", init: { name: "s6-overlay", path: "/init" }, program: "/server" }],
    [null, ["/bin/sh", "-c", "/server"], { form: "shell", shell: { path: "/bin/sh", command: "/server" }, program: "/server" }],
    [["sh", "-ec", "exec FOO=1 ./server --x"], null, { form: "shell", program: "./server" }],
    [null, ["/bin/bash", "-c", "MODE=prod app; echo done"], { form: "shell", program: "app" }],
    [["/bin/bash", "-o", "pipefail", "-c"], ["/server | tee log"], { form: "shell", shell: { path: "/bin/bash", command: "/server | tee log" }, program: "/server" }],
    [["/bin/sh", "/entrypoint.sh"], null, { form: "exec", program: "/bin/sh" }],
    [null, null, { form: "none", program: null }],
  ] as const)("%j + %j", (entrypoint, cmd, expected) => {
    expect(readPid1(entrypoint as string[] | null, cmd as string[] | null)).toMatchObject(expected);
  });
});

describe("commandCandidates", () => {
  it("follows the kernel for paths and execvp for names", () => {
    expect(commandCandidates("/srv/../server", undefined, "/")).toEqual(["/server"]);
    expect(commandCandidates("./server", undefined, "/app")).toEqual(["/app/server"]);
    expect(commandCandidates("server", "/usr/local/bin:relative:/bin", "/")).toEqual(["/usr/local/bin/server", "/bin/server"]);
    expect(commandCandidates("go", undefined, "/")[0]).toBe("/usr/local/sbin/go");
  });
});

/** An image whose ENTRYPOINT/CMD is argv and that holds nothing else unless overridden. */
function facts(argv: { entrypoint?: string[]; cmd?: string[] }, more: Partial<ImageFacts> = {}): ImageFacts {
  const pid1 = readPid1(argv.entrypoint ?? null, argv.cmd ?? null);
  return {
    reference: "app:1",
    config: { id: "sha256:0", tags: [], os: "linux", architecture: "amd64", entrypoint: argv.entrypoint ?? null, cmd: argv.cmd ?? null, env: {}, user: "", workingDir: "/", healthcheck: null, stopSignal: null, stopTimeout: null },
    pid1,
    shell: pid1.shell ? { found: true, kind: "other" } : null,
    init: pid1.init ? { found: { path: pid1.init.path, linkTarget: null } } : null,
    program: null,
    unusedInits: [],
    zoneinfoDirs: [],
    zoneinfoEnv: null,
    tzZone: null,
    localtime: null,
    localtimeDangling: false,
    locale: null,
    healthcheckCommand: null,
    toolchain: null,
    ...more,
  };
}

const judged = (f: ImageFacts, id: string) => judgeImage(f).find((c) => c.id === id);

describe("judgeImage: pid1.form", () => {
  const shell = { cmd: ["/bin/sh", "-c", "/server"] };
  it.each([
    ["dash or an unknown shell stays PID 1", facts(shell), "fail"],
    ["BusyBox execs the last command", facts(shell, { shell: { found: true, kind: "busybox" } }), "warn"],
    ["bash execs the last command", facts(shell, { shell: { found: true, kind: "bash" } }), "warn"],
    ["`exec` replaces the shell", facts({ cmd: ["/bin/sh", "-c", "exec /server"] }), "ok"],
    ["no shell in the image", facts(shell, { shell: { found: false, kind: "other" } }), "fail"],
    ["exec form", facts({ entrypoint: ["/server"] }), "ok"],
    ["no command at all", facts({}), "fail"],
  ] as const)("%s: %s", (_, f, status) => {
    expect(judged(f, "pid1.form")?.status).toBe(status);
  });

  it("names the scenario that proves a shell-form verdict", () => {
    expect(judged(facts(shell), "pid1.form")?.proveWith).toBe("forensics run sigterm-race --image app:1");
  });
});

describe("judgeImage: time zone", () => {
  const tz = (env: Record<string, string>, more: Partial<ImageFacts>) => {
    const f = facts({ entrypoint: ["/server"] }, more);
    f.config.env = env;
    return { zoneinfo: judged(f, "tz.zoneinfo")?.status, local: judged(f, "tz.local")?.status };
  };
  it.each([
    ["TZ names a zone, no zoneinfo", { TZ: "Asia/Shanghai" }, { tzZone: { name: "Asia/Shanghai", found: null } }, { zoneinfo: "fail", local: "fail" }],
    ["TZ names a zone the image holds", { TZ: "Asia/Shanghai" }, { zoneinfoDirs: ["/usr/share/zoneinfo"], tzZone: { name: "Asia/Shanghai", found: "/usr/share/zoneinfo/Asia/Shanghai" } }, { zoneinfo: "ok", local: "ok" }],
    ["TZ=UTC needs no file", { TZ: "UTC" }, {}, { zoneinfo: "warn", local: "ok" }],
    ["no TZ, no zoneinfo", {}, {}, { zoneinfo: "warn", local: "ok" }],
    ["dangling /etc/localtime", {}, { localtime: { path: "/etc/localtime", linkTarget: "/usr/share/zoneinfo/Gone" }, localtimeDangling: true }, { zoneinfo: "warn", local: "warn" }],
  ] as const)("%s", (_, env, more, expected) => {
    expect(tz(env, more as Partial<ImageFacts>)).toEqual(expected);
  });
});

describe("judgeImage: TZ through ZONEINFO, locale, healthcheck", () => {
  const withEnv = (env: Record<string, string>, more: Partial<ImageFacts> = {}) => {
    const f = facts({ entrypoint: ["/server"] }, more);
    f.config.env = env;
    return f;
  };

  it("accepts a zone from the ZONEINFO zip when no dir holds it", () => {
    const f = withEnv({ TZ: "Asia/Tokyo", ZONEINFO: "/zoneinfo.zip" }, { zoneinfoEnv: { path: "/zoneinfo.zip", present: true }, tzZone: { name: "Asia/Tokyo", found: null } });
    expect(judged(f, "tz.local")?.status).toBe("ok");
    expect(judged(f, "tz.zoneinfo")?.status).toBe("ok");
  });

  it.each([
    ["C.UTF-8 needs no files", {}, null, "ok"],
    ["a named locale the image holds", { LANG: "de_DE.UTF-8" }, { name: "de_DE.UTF-8", found: "/usr/lib/locale/de_DE.utf8" }, "ok"],
    ["a named locale the image lacks, program unknown", { LANG: "de_DE.UTF-8" }, { name: "de_DE.UTF-8", found: null }, "warn"],
  ] as const)("locale: %s", (_, env, locale, status) => {
    expect(judged(withEnv(env, { locale }), "locale.lang")?.status).toBe(status);
  });

  it.each([
    ["none", null, null, "warn"],
    ["NONE", ["NONE"], null, "warn"],
    ["CMD-SHELL without /bin/sh", ["CMD-SHELL", "wget -q localhost:8080/health"], { command: "/bin/sh", found: null }, "fail"],
    ["CMD of a program the image lacks", ["CMD", "wget", "-q", "localhost"], { command: "wget", found: null }, "fail"],
    ["CMD of the program itself", ["CMD", "/server", "-health"], { command: "/server", found: { path: "/server", linkTarget: null } }, "ok"],
  ] as const)("healthcheck: %s", (_, test, healthcheckCommand, status) => {
    const f = facts({ entrypoint: ["/server"] }, { healthcheckCommand });
    f.config.healthcheck = test as string[] | null;
    expect(judged(f, "config.healthcheck")?.status).toBe(status);
  });

  it.each([
    [null, "ok", "forensics run sigterm-race --image app:1"],
    ["SIGKILL", "warn", null],
    ["SIGINT", "ok", null],
  ] as const)("STOPSIGNAL %s", (signal, status, proveWith) => {
    const f = facts({ entrypoint: ["/server"] });
    f.config.stopSignal = signal;
    expect(judged(f, "config.stop")).toMatchObject({ status, proveWith });
  });
});

describe("judgeImage: toolchain builds (audit --build)", () => {
  const elf = (arch: string, interpreter: string | null) =>
    ({ kind: "elf", size: 1, executable: true, machine: arch === "arm64" ? "AArch64" : "x86-64", arch, interpreter, go: null, functions: null, dwarf: false, symtab: false }) as const;
  const withBuild = (native: ToolchainBuild) => {
    const toolchain: ToolchainFacts = {
      builds: { native, arm64: { ran: false } },
      go: { path: "/usr/local/go/bin/go", linkTarget: null },
      goFacts: { kind: "not-elf", size: 0, shebang: null },
      goroot: "/usr/local/go",
      gorootFrom: "go's location",
      files: { a: true, b: true, c: true, d: true },
      cc: null,
    };
    return judged(facts({ entrypoint: ["go"] }, { toolchain }), "toolchain.static-build");
  };
  it.each([
    ["a static ELF for the image's machine", { exitCode: 0, binary: elf("amd64", null) }, "ok"],
    ["a dynamic ELF", { exitCode: 0, binary: elf("amd64", "/lib64/ld-linux-x86-64.so.2") }, "fail"],
    ["an ELF for another machine", { exitCode: 0, binary: elf("arm64", null) }, "fail"],
    ["a failed build", { exitCode: 1, binary: null }, "fail"],
    ["a build killed at its time limit", { exitCode: null, binary: null }, "unknown"],
  ] as const)("%s", (_, build, status) => {
    expect(withBuild({ ran: true, goarch: "amd64", output: "go: some error\n", ...build })?.status).toBe(status);
  });

  it("quotes the first line go printed", () => {
    expect(withBuild({ ran: true, goarch: "amd64", exitCode: 1, output: "\ngo: creating work dir: stat /tmp: no such file or directory\n", binary: null })?.evidence).toMatch(/exited 1: go: creating work dir/);
  });
});

describe("auditExitCode", () => {
  it("is non-zero only when a check fails", () => {
    const check = (status: "ok" | "warn" | "fail" | "unknown") => ({ id: "x.y", status, evidence: "", fix: null, proveWith: null });
    const target = { kind: "binary", path: "/x" } as const;
    expect(auditExitCode({ target, checks: [check("ok"), check("warn"), check("unknown")] })).toBe(0);
    expect(auditExitCode({ target, checks: [check("ok"), check("fail")] })).toBe(AUDIT_FAIL_EXIT);
  });
});
