import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildProbe, resolveProbesDir } from "../../src/probe/build.js";
import { planGoUprobes, stackCheckLength } from "../../src/capture/kernel-uprobes.js";
import { EM_AARCH64, EM_X86_64, fileOffsetOfAddress, findSymbols, hasDwarf, hasInterpreter, parseElfHeader, readElfMachine, readSectionNames } from "../../src/probe/elf.js";
import { makeGoEnv, readGoEnv, resolveGoBinary } from "../../src/probe/go-toolchain.js";

// Real binaries only: the gate as forensics builds it (static Go), the host's /bin/ls
// (dynamic, PIE), and objects from Go's own debug/elf test data (32-bit, AArch64, .zdebug).
let gate: Buffer;
let testdata: string;

beforeAll(async () => {
  gate = await readFile((await buildProbe("gate")).path);
  const go = await resolveGoBinary();
  const { GOROOT } = await readGoEnv(["GOROOT"], { go, cwd: process.cwd(), env: makeGoEnv() });
  testdata = join(GOROOT ?? "", "src", "debug", "elf", "testdata");
});

const goTestdata = (name: string) => readFile(join(testdata, name));

describe("hasInterpreter", () => {
  it("is false for a CGO_ENABLED=0 Go binary", () => {
    expect(hasInterpreter(gate)).toBe(false);
  });

  it("is true for /bin/ls, which the dynamic loader starts", async () => {
    expect(hasInterpreter(await readFile("/bin/ls"))).toBe(true);
  });

  it("reads 32-bit program headers", async () => {
    const exec386 = await goTestdata("gcc-386-freebsd-exec");
    expect(parseElfHeader(exec386)?.bits).toBe(32);
    expect(hasInterpreter(exec386)).toBe(true);
  });

  it("is false for a relocatable object, which has no program headers", async () => {
    expect(hasInterpreter(await goTestdata("go-relocation-test-gcc482-aarch64.obj"))).toBe(false);
  });

  it("refuses what is not ELF, and a file cut short, with BAD_INPUT", async () => {
    const goMod = await readFile(join(resolveProbesDir(), "go.mod"));
    expect(parseElfHeader(goMod)).toBeNull();
    expect(() => hasInterpreter(goMod)).toThrow(/not an ELF file/);
    // The header alone names program headers past the end of the buffer.
    expect(() => hasInterpreter(gate.subarray(0, 64))).toThrow(expect.objectContaining({ code: "BAD_INPUT" }));
  });
});

describe("readElfMachine", () => {
  it("names the machine a binary is for", async () => {
    expect(readElfMachine(gate)).toBe(process.arch === "arm64" ? EM_AARCH64 : EM_X86_64);
    expect(readElfMachine(await readFile("/bin/ls"))).toBe(process.arch === "arm64" ? EM_AARCH64 : EM_X86_64);
    expect(readElfMachine(await goTestdata("go-relocation-test-gcc482-aarch64.obj"))).toBe(183);
    expect(readElfMachine(await goTestdata("gcc-386-freebsd-exec"))).toBe(3);
  });
});

describe("readSectionNames / hasDwarf", () => {
  it("lists sections as readelf -S does", async () => {
    // readelf -SW gcc-386-freebsd-exec, NULL section first
    expect(readSectionNames(await goTestdata("gcc-386-freebsd-exec"))).toEqual([
      "", ".interp", ".hash", ".dynsym", ".dynstr", ".rel.plt", ".init", ".plt", ".text", ".fini", ".rodata",
      ".data", ".eh_frame", ".dynamic", ".ctors", ".dtors", ".jcr", ".got", ".bss", ".comment", ".debug_aranges",
      ".debug_pubnames", ".debug_info", ".debug_abbrev", ".debug_line", ".debug_frame", ".debug_str", ".shstrtab",
      ".symtab", ".strtab",
    ]);
  });

  it("finds DWARF in a Go build without -s -w, in old .zdebug objects, and none in stripped /bin/ls", async () => {
    expect(hasDwarf(gate)).toBe(true);
    expect(hasDwarf(await goTestdata("zdebug-test-gcc484-x86-64.obj"))).toBe(true);
    expect(hasDwarf(await readFile("/bin/ls"))).toBe(false);
  });
});

describe("findSymbols / fileOffsetOfAddress", () => {
  it("finds symbols and their file offsets as readelf -sW / -lW show them (64-bit)", async () => {
    const exec = await goTestdata("gcc-amd64-linux-exec");
    // readelf -sW: main 0x400498 size 27, __DTOR_LIST__ 0x600698; -lW: LOAD 0x000000 → 0x400000, LOAD 0x000688 → 0x600688 (filesz 0x210)
    const syms = findSymbols(exec, ["main", "__DTOR_LIST__", "no_such_symbol"]);
    expect([...syms.keys()].sort()).toEqual(["__DTOR_LIST__", "main"]);
    expect(syms.get("main")).toEqual({ name: "main", value: 0x400498, size: 27 });
    expect(fileOffsetOfAddress(exec, 0x400498)).toBe(0x498);
    expect(fileOffsetOfAddress(exec, syms.get("__DTOR_LIST__")!.value)).toBe(0x698);
    // .bss starts where the RW segment's file bytes end: no file offset.
    expect(fileOffsetOfAddress(exec, 0x600898)).toBeNull();
  });

  it("reads 32-bit symbol tables and program headers", async () => {
    const exec386 = await goTestdata("gcc-386-freebsd-exec");
    // readelf -sW: main 0x080484f8 size 46, __progname 0x080495fc, environ 0x080496f0 (.bss)
    const syms = findSymbols(exec386, ["main", "__progname", "environ"]);
    expect(syms.get("main")).toEqual({ name: "main", value: 0x080484f8, size: 46 });
    expect(fileOffsetOfAddress(exec386, 0x080484f8)).toBe(0x4f8);
    expect(fileOffsetOfAddress(exec386, syms.get("__progname")!.value)).toBe(0x5fc);
    expect(fileOffsetOfAddress(exec386, syms.get("environ")!.value)).toBeNull();
  });

  it("finds the Go runtime's signal functions in a probe, at offsets holding their code", async () => {
    const syms = findSymbols(gate, ["runtime.sighandler", "runtime.sigsend", "runtime.setsig"]);
    expect(syms.size).toBe(3);
    for (const sym of syms.values()) {
      const offset = fileOffsetOfAddress(gate, sym.value)!;
      // A static Go binary maps its text 1:1 from file offset 0 at 0x400000 (amd64) / 0x10000 (arm64).
      expect(offset).toBe(sym.value - (process.arch === "arm64" ? 0x10000 : 0x400000));
    }
  });

  it("plans no uprobes for a binary without a symbol table, and says why", async () => {
    const plan = planGoUprobes(await readFile("/bin/ls"), "/bin/ls", "forensics_1_0", "amd64");
    expect(plan.uprobes).toEqual([]);
    expect(plan.note).toMatch(/has no symbol table \(built with -s -w/);
  });

  it("plans one uprobe per Go runtime function the binary has, with Go's register ABI for the arguments", () => {
    const plan = planGoUprobes(gate, "/proc/1/root/probe", "forensics_1_0", "amd64");
    // The gate never imports os/signal: the linker left those functions out.
    expect(plan.note).toBe("no uprobe for os/signal.process, os/signal.Notify: not in /proc/1/root/probe's symbol table");
    expect(plan.uprobes.map((u) => u.fn)).toEqual(["runtime.sighandler", "runtime.sigsend", "runtime.dieFromSignal", "runtime.setsig"]);
    const sighandler = plan.uprobes.find((u) => u.fn === "runtime.sighandler")!;
    expect(sighandler).toMatchObject({ group: "forensics_1_0", event: "sighandler", binary: "/proc/1/root/probe", fetch: ["sig=%ax:u32"] });
    expect(plan.uprobes.find((u) => u.fn === "os/signal.process")).toBeUndefined();
  });

  it("probes runtime.sigsend after its stack check, so a call re-entered after morestack counts once", () => {
    const plan = planGoUprobes(gate, "/proc/1/root/probe", "forensics_1_0", "amd64");
    const sigsend = plan.uprobes.find((u) => u.fn === "runtime.sigsend")!;
    const entry = fileOffsetOfAddress(gate, findSymbols(gate, ["runtime.sigsend"]).get("runtime.sigsend")!.value)!;
    if (process.arch !== "x64") return;
    // CMPQ SP, 0x10(R14) (4 bytes) + JBE rel32 (6 bytes).
    expect(sigsend.offset - entry).toBe(stackCheckLength(gate, entry, "amd64"));
    expect(sigsend.offset - entry).toBeGreaterThanOrEqual(6);
  });
});

describe("stackCheckLength", () => {
  it.each([
    ["CMPQ SP; JBE rel32", [0x49, 0x3b, 0x66, 0x10, 0x0f, 0x86, 1, 2, 3, 4, 0x55], 10],
    ["CMPQ SP; JBE rel8", [0x49, 0x3b, 0x66, 0x10, 0x76, 0x20, 0x55], 6],
    ["LEAQ d8; CMPQ R12; JBE rel32", [0x4c, 0x8d, 0x64, 0x24, 0xb0, 0x4d, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0x45, 2, 0, 0], 15],
    ["LEAQ d32; CMPQ R12; JBE rel8", [0x4c, 0x8d, 0xa4, 0x24, 0, 0xf0, 0xff, 0xff, 0x4d, 0x3b, 0x66, 0x10, 0x76, 0x10], 14],
    ["no prologue (NOSPLIT)", [0x55, 0x48, 0x89, 0xe5], null],
    ["CMPQ without a JBE", [0x49, 0x3b, 0x66, 0x10, 0x90], null],
  ])("%s", (_name, bytes, expected) => {
    const elf = Buffer.from([0xcc, 0xcc, ...bytes]);
    expect(stackCheckLength(elf, 2, "amd64")).toBe(expected);
    expect(stackCheckLength(elf, 2, "arm64")).toBeNull();
  });
});
