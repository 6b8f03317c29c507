// Just enough ELF to answer what doctor, the probe builder, the kernel observer and audit
// ask of a binary: is it static (no PT_INTERP) or which interpreter, which machine is it
// for, does it carry DWARF, what a named section holds, where in the file does a function
// start (for uprobes). Pure: bytes in.

import { HarnessError } from "../errors.js";

export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;

const PT_LOAD = 1;
const PT_INTERP = 3;
const SHT_SYMTAB = 2;

export interface ElfHeader {
  bits: 32 | 64;
  littleEndian: boolean;
  /** e_type: 1 relocatable, 2 executable, 3 PIE or shared library. */
  type: number;
  /** e_machine: EM_X86_64, EM_AARCH64, … */
  machine: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  shoff: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

/** The ELF header, or null when buf does not start like an ELF file (an archive, a script). */
export function parseElfHeader(buf: Buffer): ElfHeader | null {
  if (buf.length < 52 || buf.readUInt32BE(0) !== 0x7f454c46) return null;
  const bits = buf[4] === 2 ? 64 : buf[4] === 1 ? 32 : null;
  const littleEndian = buf[5] === 1 ? true : buf[5] === 2 ? false : null;
  if (bits === null || littleEndian === null || (bits === 64 && buf.length < 64)) return null;
  const u16 = (at: number) => (littleEndian ? buf.readUInt16LE(at) : buf.readUInt16BE(at));
  const word = (at: number) => readWord(buf, at, bits, littleEndian);
  // Offsets from the System V gABI; the 32- and 64-bit layouts differ only in word size.
  const o = bits === 64 ? { ph: 0x20, sh: 0x28, rest: 0x36 } : { ph: 0x1c, sh: 0x20, rest: 0x2a };
  return {
    bits,
    littleEndian,
    type: u16(0x10),
    machine: u16(0x12),
    phoff: word(o.ph),
    shoff: word(o.sh),
    phentsize: u16(o.rest),
    phnum: u16(o.rest + 2),
    shentsize: u16(o.rest + 4),
    shnum: u16(o.rest + 6),
    shstrndx: u16(o.rest + 8),
  };
}

/** Whether the binary names a program interpreter (ld.so): false means statically linked. */
export const hasInterpreter = (buf: Buffer): boolean => readInterpreter(buf) !== null;

/** The PT_INTERP path ("/lib64/ld-linux-x86-64.so.2"), or null for a static binary. */
export function readInterpreter(buf: Buffer): string | null {
  const h = requireElf(buf);
  // p_offset and p_filesz: 0x08/0x20 in Elf64_Phdr, 0x04/0x10 in Elf32_Phdr.
  const [offsetAt, sizeAt] = h.bits === 64 ? [0x08, 0x20] : [0x04, 0x10];
  for (let i = 0; i < h.phnum; i++) {
    const at = h.phoff + i * h.phentsize;
    requireBytes(buf, at + h.phentsize, "program header");
    const type = h.littleEndian ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
    if (type !== PT_INTERP) continue;
    const offset = readWord(buf, at + offsetAt, h.bits, h.littleEndian);
    const size = readWord(buf, at + sizeAt, h.bits, h.littleEndian);
    requireBytes(buf, offset + size, "interpreter path");
    // The path is NUL-terminated inside the segment.
    return buf.toString("latin1", offset, offset + size).replace(/\0.*$/s, "");
  }
  return null;
}

/** e_machine of the binary (EM_X86_64 = 62, EM_AARCH64 = 183). */
export function readElfMachine(buf: Buffer): number {
  return requireElf(buf).machine;
}

/** Section names in file order; needs the whole file, the section table sits at its end. */
export const readSectionNames = (buf: Buffer): string[] => readSections(buf).map((s) => s.name);

// SHT_NOBITS (.bss, .noptrbss) occupies no bytes of the file.
const SHT_NOBITS = 8;

/** The bytes of the first section called name, or null when there is none or it has no file bytes. */
export function readSection(buf: Buffer, name: string): Buffer | null {
  const s = readSections(buf).find((section) => section.name === name);
  if (s === undefined || s.type === SHT_NOBITS) return null;
  requireBytes(buf, s.offset + s.size, `section ${name}`);
  return buf.subarray(s.offset, s.offset + s.size);
}

/** Whether the binary keeps DWARF (Go writes .debug_info, compressed or not; old linkers .zdebug_info). */
export const hasDwarf = (buf: Buffer): boolean =>
  readSectionNames(buf).some((name) => name === ".debug_info" || name === ".zdebug_info");

export interface ElfSymbol {
  name: string;
  /** st_value: the virtual address, for a function in an executable. */
  value: number;
  size: number;
}

/** Symbols of .symtab with these names (functions and data alike); a stripped binary (-s) has none. */
export function findSymbols(buf: Buffer, names: readonly string[]): Map<string, ElfSymbol> {
  const h = requireElf(buf);
  const wanted = new Set(names);
  const found = new Map<string, ElfSymbol>();
  const symtab = readSections(buf, h).find((s) => s.type === SHT_SYMTAB);
  if (symtab === undefined) return found;
  const strtab = readSections(buf, h)[symtab.link];
  if (strtab === undefined) return found;
  const entsize = h.bits === 64 ? 24 : 16;
  requireBytes(buf, symtab.offset + symtab.size, ".symtab");
  requireBytes(buf, strtab.offset + strtab.size, ".strtab");
  for (let at = symtab.offset; at + entsize <= symtab.offset + symtab.size; at += entsize) {
    const nameOffset = h.littleEndian ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
    if (nameOffset === 0) continue;
    const start = strtab.offset + nameOffset;
    const end = buf.indexOf(0, start);
    if (end < 0 || end > strtab.offset + strtab.size) continue;
    const name = buf.toString("latin1", start, end);
    if (!wanted.has(name) || found.has(name)) continue;
    // Elf64_Sym: name, info, other, shndx, value, size; Elf32_Sym: name, value, size, info, other, shndx.
    const value = h.bits === 64 ? readWord(buf, at + 8, 64, h.littleEndian) : readWord(buf, at + 4, 32, h.littleEndian);
    const size = h.bits === 64 ? readWord(buf, at + 16, 64, h.littleEndian) : readWord(buf, at + 8, 32, h.littleEndian);
    found.set(name, { name, value, size });
  }
  return found;
}

/**
 * Where the byte at virtual address vaddr lies in the file: vaddr − p_vaddr + p_offset of
 * the PT_LOAD segment holding it (what uprobe_events wants), or null when no file-backed
 * segment holds it (.bss).
 */
export function fileOffsetOfAddress(buf: Buffer, vaddr: number): number | null {
  const h = requireElf(buf);
  for (let i = 0; i < h.phnum; i++) {
    const at = h.phoff + i * h.phentsize;
    requireBytes(buf, at + h.phentsize, "program header");
    const type = h.littleEndian ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
    if (type !== PT_LOAD) continue;
    // Elf64_Phdr: type, flags, offset, vaddr, paddr, filesz; Elf32_Phdr: type, offset, vaddr, paddr, filesz.
    const w = (field: number) => readWord(buf, at + (h.bits === 64 ? 8 + field * 8 : 4 + field * 4), h.bits, h.littleEndian);
    const [offset, segVaddr, filesz] = [w(0), w(1), w(3)];
    if (vaddr >= segVaddr && vaddr < segVaddr + filesz) return vaddr - segVaddr + offset;
  }
  return null;
}

interface SectionHeader {
  name: string;
  type: number;
  offset: number;
  size: number;
  link: number;
}

function readSections(buf: Buffer, h: ElfHeader = requireElf(buf)): SectionHeader[] {
  if (h.shoff === 0 || h.shnum === 0) return [];
  const sections: (Omit<SectionHeader, "name"> & { nameOffset: number })[] = [];
  for (let i = 0; i < h.shnum; i++) {
    const at = h.shoff + i * h.shentsize;
    requireBytes(buf, at + h.shentsize, "section header");
    const u32 = (o: number) => (h.littleEndian ? buf.readUInt32LE(at + o) : buf.readUInt32BE(at + o));
    sections.push(
      h.bits === 64
        ? { nameOffset: u32(0), type: u32(4), offset: readWord(buf, at + 24, 64, h.littleEndian), size: readWord(buf, at + 32, 64, h.littleEndian), link: u32(40) }
        : { nameOffset: u32(0), type: u32(4), offset: u32(16), size: u32(20), link: u32(24) },
    );
  }
  // Names live in the section e_shstrndx points at; a file without one has nameless sections.
  const strtab = sections[h.shstrndx]?.offset;
  return sections.map(({ nameOffset, ...section }) => {
    if (strtab === undefined) return { name: "", ...section };
    const start = strtab + nameOffset;
    const end = buf.indexOf(0, start);
    requireBytes(buf, end < 0 ? Infinity : end, "section name");
    return { name: buf.toString("latin1", start, end), ...section };
  });
}

function readWord(buf: Buffer, at: number, bits: 32 | 64, littleEndian: boolean): number {
  if (bits === 32) return littleEndian ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
  return Number(littleEndian ? buf.readBigUInt64LE(at) : buf.readBigUInt64BE(at));
}

function requireElf(buf: Buffer): ElfHeader {
  const h = parseElfHeader(buf);
  if (h === null) throw new HarnessError("BAD_INPUT", "not an ELF file (no \\x7fELF magic): expected a Linux executable");
  return h;
}

function requireBytes(buf: Buffer, end: number, what: string): void {
  if (end > buf.length) {
    throw new HarnessError("BAD_INPUT", `truncated ELF file: ${what} ends at byte ${end}, the file has ${buf.length}; pass the whole file`);
  }
}
