// What a program's bytes say about it, for the binary checks: ELF machine and linking,
// Go build info, which Go functions are linked in, debug info. Pure: bytes in.

import { EM_AARCH64, EM_X86_64, hasDwarf, parseElfHeader, readInterpreter, readSectionNames } from "../probe/elf.js";
import { readGoFunctionNames } from "./go-functions.js";
import { readGoBuildInfo, type GoBuildInfo } from "../probe/go-buildinfo.js";

const MACHINES: Record<number, string> = { 3: "i386", 40: "ARM", [EM_X86_64]: "x86-64", [EM_AARCH64]: "AArch64" };
// GOARCH and the image config's Architecture use the same spelling.
const ARCH_OF_MACHINE: Record<number, string> = { 3: "386", 40: "arm", [EM_X86_64]: "amd64", [EM_AARCH64]: "arm64" };

export type BinaryFacts =
  | { kind: "not-elf"; size: number; /** "#!/bin/sh" for a script. */ shebang: string | null }
  | {
      kind: "elf";
      size: number;
      /** e_type 2 (executable) or 3 (PIE or shared object); anything else cannot be exec'd. */
      executable: boolean;
      machine: string;
      /** GOARCH spelling ("amd64"), or null for a machine this table does not know. */
      arch: string | null;
      interpreter: string | null;
      go: GoBuildInfo | null;
      /** Go function names from the pclntab, null when there is none. */
      functions: Set<string> | null;
      dwarf: boolean;
      symtab: boolean;
    };

export function readBinaryFacts(bytes: Buffer): BinaryFacts {
  const header = parseElfHeader(bytes);
  if (header === null) {
    const shebang = bytes.subarray(0, 2).toString("latin1") === "#!" ? bytes.toString("latin1", 0, Math.min(bytes.length, 128)).split("\n")[0]! : null;
    return { kind: "not-elf", size: bytes.length, shebang };
  }
  const sections = readSectionNames(bytes);
  return {
    kind: "elf",
    size: bytes.length,
    executable: header.type === 2 || header.type === 3,
    machine: MACHINES[header.machine] ?? `e_machine ${header.machine}`,
    arch: ARCH_OF_MACHINE[header.machine] ?? null,
    interpreter: readInterpreter(bytes),
    go: readGoBuildInfo(bytes),
    functions: readGoFunctionNames(bytes),
    dwarf: hasDwarf(bytes),
    symtab: sections.includes(".symtab"),
  };
}

/** Markers in the function table; each is a function the linker keeps only when its package is used. */
export const GO_MARKERS = {
  notify: "os/signal.Notify",
  tzdata: "time/tzdata.loadFromEmbeddedTZData",
  // runtime/cgo's C entry point (gcc_linux_*.c): present only when cgo code is linked in.
  cgo: "x_cgo_init",
} as const;

export const hasFunction = (facts: BinaryFacts, marker: keyof typeof GO_MARKERS): boolean | null =>
  facts.kind === "elf" && facts.functions !== null ? facts.functions.has(GO_MARKERS[marker]) : null;
