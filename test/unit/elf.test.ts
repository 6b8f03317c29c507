import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildProbe, resolveProbesDir } from "../../src/probe/build.js";
import { EM_AARCH64, EM_X86_64, hasDwarf, hasInterpreter, parseElfHeader, readElfMachine, readSectionNames } from "../../src/probe/elf.js";
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
