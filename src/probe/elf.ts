// Just enough ELF to answer what doctor and the probe builder ask of a binary: is it
// static (no PT_INTERP), which machine is it for, does it carry DWARF. Pure: bytes in.

import { HarnessError } from "../errors.js";

export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;

const PT_INTERP = 3;

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
