// Just enough ELF to answer what doctor, the probe builder and the kernel observer ask of
// a binary: is it static (no PT_INTERP), which machine is it for, does it carry DWARF,
// where in the file does a function start (for uprobes). Pure: bytes in.

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
export function hasInterpreter(buf: Buffer): boolean {
  const h = requireElf(buf);
  for (let i = 0; i < h.phnum; i++) {
    const at = h.phoff + i * h.phentsize;
    requireBytes(buf, at + 4, "program header");
    const type = h.littleEndian ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
    if (type === PT_INTERP) return true;
  }
  return false;
}

/** e_machine of the binary (EM_X86_64 = 62, EM_AARCH64 = 183). */
export function readElfMachine(buf: Buffer): number {
  return requireElf(buf).machine;
}

/** Section names in file order; needs the whole file, the section table sits at its end. */
export function readSectionNames(buf: Buffer): string[] {
  const h = requireElf(buf);
  if (h.shoff === 0 || h.shnum === 0 || h.shstrndx >= h.shnum) return [];
  const section = (i: number) => {
    const at = h.shoff + i * h.shentsize;
    requireBytes(buf, at + h.shentsize, "section header");
    const u32 = h.littleEndian ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
    const offset = readWord(buf, at + (h.bits === 64 ? 0x18 : 0x10), h.bits, h.littleEndian);
    return { nameOffset: u32, offset };
  };
  const strtab = section(h.shstrndx).offset;
  const names: string[] = [];
  for (let i = 0; i < h.shnum; i++) {
    const start = strtab + section(i).nameOffset;
    const end = buf.indexOf(0, start);
    requireBytes(buf, end < 0 ? Infinity : end, "section name");
    names.push(buf.toString("latin1", start, end));
  }
  return names;
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
  type: number;
  offset: number;
  size: number;
  link: number;
}

function readSections(buf: Buffer, h: ElfHeader): SectionHeader[] {
  if (h.shoff === 0 || h.shnum === 0) return [];
  const sections: SectionHeader[] = [];
  for (let i = 0; i < h.shnum; i++) {
    const at = h.shoff + i * h.shentsize;
    requireBytes(buf, at + h.shentsize, "section header");
    const u32 = (o: number) => (h.littleEndian ? buf.readUInt32LE(at + o) : buf.readUInt32BE(at + o));
    sections.push(
      h.bits === 64
        ? { type: u32(4), offset: readWord(buf, at + 24, 64, h.littleEndian), size: readWord(buf, at + 32, 64, h.littleEndian), link: u32(40) }
        : { type: u32(4), offset: u32(16), size: u32(20), link: u32(24) },
    );
  }
  return sections;
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
