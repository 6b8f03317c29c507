// The build-info, function-table and ELF readers on real binaries: the fixture programs
// built here with the flags that change what they hold, and non-Go programs of the host.

import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBinaryFacts, GO_MARKERS } from "../../src/audit/binary-facts.js";
import { parseModInfo, readGoBuildInfo } from "../../src/probe/go-buildinfo.js";
import { readGoFunctionNames } from "../../src/audit/go-functions.js";
import { readInterpreter, readSection } from "../../src/probe/elf.js";
import { hostGoArch, makeGoEnv, readGoEnv, resolveGoBinary } from "../../src/probe/go-toolchain.js";
import { buildFixture, FIXTURES, removeAuditFixtures } from "../support/audit-fixtures.js";

const BUSYBOX = "/bin/busybox";
let goVersion: string;
const bin: Record<string, Buffer> = {};

beforeAll(async () => {
  goVersion = (await readGoEnv(["GOVERSION"], { go: await resolveGoBinary(), cwd: FIXTURES, env: makeGoEnv() })).GOVERSION!;
  const builds = {
    plain: buildFixture("plain", { name: "plain" }),
    notify: buildFixture("notify", { name: "notify", flags: ["-trimpath"] }),
    stripped: buildFixture("notify", { name: "stripped", flags: ["-ldflags=-s -w"] }),
    tzdata: buildFixture("tzdata", { name: "tzdata" }),
    // net's resolver uses cgo when it may: a dynamic binary with runtime/cgo linked in.
    cgo: buildFixture("plain", { name: "cgo", env: { CGO_ENABLED: "1" } }),
    pie: buildFixture("notify", { name: "pie", flags: ["-buildmode=pie"] }),
    arm64: buildFixture("notify", { name: "arm64", env: { GOARCH: hostGoArch() === "arm64" ? "amd64" : "arm64" } }),
  };
  for (const [name, path] of Object.entries(builds)) bin[name] = await readFile(await path);
}, 300_000);

afterAll(removeAuditFixtures);

describe("readGoBuildInfo", () => {
  it("reads the Go version, the package, the main module and the build settings", () => {
    const info = readGoBuildInfo(bin.plain!);
    expect(info).toMatchObject({
      kind: "go",
      goVersion,
      path: "example.com/auditfixture/plain",
      main: { path: "example.com/auditfixture", version: "(devel)" },
      deps: [],
      settings: { "-buildmode": "exe", "-compiler": "gc", CGO_ENABLED: "0", GOOS: "linux", GOARCH: hostGoArch() },
    });
  });

  it("keeps each flag as go version -m prints it: -trimpath, quoted -ldflags, -buildmode, CGO_ENABLED, GOARCH", () => {
    const settings = (name: string) => (readGoBuildInfo(bin[name]!) as { settings: Record<string, string> }).settings;
    expect(settings("notify")["-trimpath"]).toBe("true");
    // Printed as -ldflags="-s -w": the quotes are Go's strconv.Quote, not part of the value.
    expect(settings("stripped")["-ldflags"]).toBe("-s -w");
    expect(settings("pie")["-buildmode"]).toBe("pie");
    expect(settings("cgo").CGO_ENABLED).toBe("1");
    expect(settings("arm64").GOARCH).toBe(hostGoArch() === "arm64" ? "amd64" : "arm64");
  });

  it("finds nothing in programs that are not Go", async () => {
    expect(readGoBuildInfo(await readFile(BUSYBOX))).toBeNull();
    expect(readGoBuildInfo(await readFile("/bin/ls"))).toBeNull();
  });

  it("parses replaced dependencies and sums in the text form", () => {
    const text = "path\tx/cmd\nmod\tx\t(devel)\t\ndep\ta\tv1.0.0\th1:abc=\ndep\tb\tv1.0.0\n=>\t../b\t(devel)\t\nbuild\tvcs.modified=true\n";
    expect(parseModInfo(text)).toEqual({
      path: "x/cmd",
      main: { path: "x", version: "(devel)" },
      deps: [
        { path: "a", version: "v1.0.0", sum: "h1:abc=" },
        { path: "../b", version: "(devel)" },
      ],
      settings: { "vcs.modified": "true" },
    });
  });
});

describe("readGoFunctionNames", () => {
  it("sees os/signal.Notify only where the program calls it, also in a stripped binary", () => {
    const has = (name: string, fn: string) => readGoFunctionNames(bin[name]!)?.has(fn);
    expect(has("plain", GO_MARKERS.notify)).toBe(false);
    expect(has("notify", GO_MARKERS.notify)).toBe(true);
    expect(has("stripped", GO_MARKERS.notify)).toBe(true);
    expect(has("pie", GO_MARKERS.notify)).toBe(true);
    expect(has("arm64", GO_MARKERS.notify)).toBe(true);
  });

  it("sees time/tzdata and runtime/cgo only where they are linked in", () => {
    const has = (name: string, fn: string) => readGoFunctionNames(bin[name]!)?.has(fn);
    expect(has("tzdata", GO_MARKERS.tzdata)).toBe(true);
    expect(has("plain", GO_MARKERS.tzdata)).toBe(false);
    expect(has("cgo", GO_MARKERS.cgo)).toBe(true);
    expect(has("plain", GO_MARKERS.cgo)).toBe(false);
  });

  it("is null without a Go pclntab", async () => {
    expect(readGoFunctionNames(await readFile(BUSYBOX))).toBeNull();
  });
});

describe("readBinaryFacts", () => {
  it("tells static from dynamic, and DWARF from stripped", async () => {
    const facts = (name: string) => readBinaryFacts(bin[name]!) as Extract<ReturnType<typeof readBinaryFacts>, { kind: "elf" }>;
    expect(facts("plain")).toMatchObject({ interpreter: null, dwarf: true, symtab: true, executable: true, arch: hostGoArch() });
    expect(facts("stripped")).toMatchObject({ interpreter: null, dwarf: false, symtab: false });
    expect(facts("cgo").interpreter).toMatch(/^\/lib.*\/ld-linux.*\.so\.\d$/);
    // -buildmode=pie is ET_DYN; with cgo available it links through the host linker and libc.
    expect(facts("pie").executable).toBe(true);
    expect(facts("arm64").arch).toBe(hostGoArch() === "arm64" ? "amd64" : "arm64");
    const busybox = readBinaryFacts(await readFile(BUSYBOX));
    expect(busybox).toMatchObject({ kind: "elf", go: null, functions: null, interpreter: null });
  });

  it("names a script by its #! line", () => {
    expect(readBinaryFacts(Buffer.from("#!/bin/sh\nexec /server\n"))).toEqual({ kind: "not-elf", size: 23, shebang: "#!/bin/sh" });
  });

  it("reads PT_INTERP and sections as readelf does", async () => {
    const ls = await readFile("/bin/ls");
    expect(readInterpreter(ls)).toMatch(/^\/lib.*ld-linux.*\.so\.\d$/);
    expect(readSection(bin.plain!, ".go.buildinfo")?.subarray(0, 14).toString("latin1")).toBe("\xff Go buildinf:");
    expect(readSection(bin.plain!, ".no-such-section")).toBeNull();
  });
});
