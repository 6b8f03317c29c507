// The names of a Go binary's functions, from the function name table of its pclntab
// (runtime/symtab.go, cmd/link/internal/ld/pcln.go). The runtime needs that table for
// tracebacks, so it survives `-ldflags=-s -w`, which drops .symtab and DWARF: it answers
// "is os/signal.Notify linked in" for stripped binaries too. Pure.

import { readSection, parseElfHeader } from "../probe/elf.js";

// pcHeader magics: Go 1.16–1.17, 1.18–1.19, 1.20+. Older tables have no name table of their own.
const MAGIC_GO116 = 0xfffffffa;
const MAGIC_GO118 = 0xfffffff0;
const MAGIC_GO120 = 0xfffffff1;

/**
 * Every function name in the binary's pclntab (inlined functions included: the inline tree
 * names them in the same table), or null when there is no Go pclntab this reader knows.
 */
export function readGoFunctionNames(elf: Buffer): Set<string> | null {
  const header = parseElfHeader(elf);
  // The internal linker names it .gopclntab; with PIE and relro it lands in .data.rel.ro.gopclntab.
  const table = readSection(elf, ".gopclntab") ?? readSection(elf, ".data.rel.ro.gopclntab");
  if (header === null || table === null || table.length < 8) return null;
  const u32 = (at: number) => (header.littleEndian ? table.readUInt32LE(at) : table.readUInt32BE(at));
  const magic = u32(0);
  const ptrSize = table[7]!;
  if (ptrSize !== 4 && ptrSize !== 8) return null;
  // After magic, two zero bytes, minLC and ptrSize come uintptr fields: nfunc, nfiles,
  // [textStart since 1.18], funcnameOffset, cuOffset, …
  const fieldsBefore = magic === MAGIC_GO116 ? 2 : magic === MAGIC_GO118 || magic === MAGIC_GO120 ? 3 : null;
  if (fieldsBefore === null) return null;
  const field = (i: number): number => {
    const at = 8 + i * ptrSize;
    if (ptrSize === 4) return u32(at);
    return Number(header.littleEndian ? table.readBigUInt64LE(at) : table.readBigUInt64BE(at));
  };
  if (table.length < 8 + (fieldsBefore + 2) * ptrSize) return null;
  const start = field(fieldsBefore);
  const end = field(fieldsBefore + 1);
  if (start > end || end > table.length) return null;
  return new Set(table.toString("latin1", start, end).split("\0").filter((name) => name !== ""));
}
