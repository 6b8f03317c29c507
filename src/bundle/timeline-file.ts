import { isAscii } from "node:buffer";
import { endianness } from "node:os";
import { z } from "zod";
import { SOURCES } from "../evidence/facets.js";
import type { RecordSource } from "../evidence/schemas.js";
import type { TimelineColumns } from "../evidence/timeline-columns.js";

// timeline.bin: a trial's timeline columns and, per source, where each record's line starts
// in its .ndjson, so a replay opens a million rows with one read and no JSON.parse of a
// record. Layout: one JSON header line, NUL bytes up to a multiple of 8, then each column
// at the (8-aligned) offset the header gives, counted from the end of that padding.
// Numbers are little-endian. Every size, id and offset is checked on decode: a bundle's
// hashes only say the files are the ones its manifest lists, not that they are sane.

const FORMAT = "forensics-timeline";
const TYPES = { f64: 8, u32: 4, i32: 4, u16: 2, u8: 1, utf8: 1 } as const;
type ColumnType = keyof typeof TYPES;

/** The row columns, in file order; text (UTF-8) and the record offsets follow them. */
const ROW_COLUMNS = [
  ["atUs", "f64"],
  ["source", "u8"],
  ["record", "u32"],
  ["pid", "i32"],
  ["flags", "u8"],
  ["kind", "u16"],
  ["syscall", "u16"],
  ["errno", "u16"],
  ["textBytes", "u32"],
] as const satisfies readonly (readonly [string, ColumnType])[];

const Header = z.object({
  format: z.literal(FORMAT),
  version: z.literal(1),
  rows: z.number().int().nonnegative(),
  /** Records per source; each has an offsets column of count + 1 entries (the last is the file's size). */
  records: z.partialRecord(z.enum(SOURCES as [RecordSource, ...RecordSource[]]), z.number().int().nonnegative()),
  kinds: z.array(z.string()),
  syscalls: z.array(z.string()),
  errnos: z.array(z.string()),
  columns: z.array(z.object({ name: z.string(), type: z.enum(Object.keys(TYPES) as [ColumnType, ...ColumnType[]]), offset: z.number().int().nonnegative(), bytes: z.number().int().nonnegative() })),
});

/** Where each record of each source starts in its file, plus the file's size at the end. */
export type RecordOffsets = Partial<Record<RecordSource, Float64Array>>;

export class TimelineFileError extends Error {}

// Arithmetic, not bit operations: a timeline file may pass 2 GiB.
const align8 = (n: number): number => Math.ceil(n / 8) * 8;

/** A copy in a buffer of its own (offset 0), never a slice of Node's shared pool. */
function copyUnpooled(file: Buffer): Buffer {
  const copy = Buffer.alloc(file.length);
  file.copy(copy);
  return copy;
}

/** The file's bytes, in pieces (the text column of a million rows is written in chunks). */
export function encodeTimeline(columns: TimelineColumns, offsets: RecordOffsets): Buffer[] {
  const n = columns.n;
  const textBytes = new Uint32Array(n);
  const text: Buffer[] = [];
  for (let from = 0; from < n; from += 65_536) {
    const parts: Buffer[] = [];
    for (let i = from; i < Math.min(n, from + 65_536); i++) {
      const b = Buffer.from(columns.text(i), "utf8");
      textBytes[i] = b.length;
      parts.push(b);
    }
    text.push(Buffer.concat(parts));
  }
  const data: [string, ColumnType, Buffer[]][] = [
    ...ROW_COLUMNS.map(([name, type]): [string, ColumnType, Buffer[]] => {
      const array = name === "textBytes" ? textBytes : columns[name];
      return [name, type, [Buffer.from(array.buffer, array.byteOffset, array.byteLength)]];
    }),
    ["text", "utf8", text],
    ...SOURCES.filter((s) => offsets[s] !== undefined).map((s): [string, ColumnType, Buffer[]] => [`offsets.${s}`, "f64", [Buffer.from(offsets[s]!.buffer, offsets[s]!.byteOffset, offsets[s]!.byteLength)]]),
  ];
  let at = 0;
  const layout = data.map(([name, type, parts]) => {
    const bytes = parts.reduce((sum, p) => sum + p.length, 0);
    const offset = at;
    at = align8(at + bytes);
    return { name, type, offset, bytes };
  });
  const header = {
    format: FORMAT,
    version: 1,
    rows: n,
    records: Object.fromEntries(SOURCES.filter((s) => offsets[s] !== undefined).map((s) => [s, offsets[s]!.length - 1])),
    kinds: columns.kinds,
    syscalls: columns.syscalls,
    errnos: columns.errnos,
    columns: layout,
  };
  const head = Buffer.from(`${JSON.stringify(header)}\n`);
  const out: Buffer[] = [head, Buffer.alloc(align8(head.length) - head.length)];
  for (const [i, [, , parts]] of data.entries()) {
    out.push(...parts);
    const pad = (i + 1 < layout.length ? layout[i + 1]!.offset : at) - (layout[i]!.offset + layout[i]!.bytes);
    if (pad > 0) out.push(Buffer.alloc(pad));
  }
  return out;
}

export interface DecodedTimeline {
  columns: TimelineColumns;
  offsets: RecordOffsets;
}

/**
 * Decodes and checks a timeline file. `recordBytes` is the size of each source's record file
 * (as the manifest lists it): offsets must rise from 0 to exactly that size. Throws a
 * TimelineFileError saying what is wrong.
 */
export function decodeTimeline(file: Buffer, recordBytes: Partial<Record<RecordSource, number>>): DecodedTimeline {
  const bad = (why: string): never => {
    throw new TimelineFileError(why);
  };
  if (endianness() !== "LE") bad("timeline columns are little-endian; this host is not (unsupported)");
  const nl = file.indexOf(0x0a);
  if (nl < 0) bad("no header line");
  let json: unknown;
  try {
    json = JSON.parse(file.toString("utf8", 0, nl));
  } catch {
    bad("its header is not JSON");
  }
  const parsed = Header.safeParse(json);
  if (!parsed.success) bad(`malformed header at ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`);
  const h = parsed.data!;
  const n = h.rows;
  // Typed arrays need 8-aligned views: a buffer that does not start on one is copied once.
  const buf = file.byteOffset % 8 === 0 ? file : copyUnpooled(file);
  const base = align8(nl + 1);
  const column = (name: string, type: ColumnType, count: number | null): { at: number; bytes: number } => {
    const c = h.columns.find((x) => x.name === name) ?? bad(`column ${name} is missing`);
    if (c.type !== type) bad(`column ${name} is ${c.type}, not ${type}`);
    if (count !== null && c.bytes !== count * TYPES[type]) bad(`column ${name} holds ${c.bytes} bytes, not ${count * TYPES[type]}`);
    if (c.offset % 8 !== 0 || base + c.offset + c.bytes > buf.length) bad(`column ${name} lies outside the file`);
    return { at: buf.byteOffset + base + c.offset, bytes: c.bytes };
  };
  const view = <T>(make: new (b: ArrayBufferLike, at: number, len: number) => T, name: string, type: ColumnType, count: number): T => new make(buf.buffer, column(name, type, count).at, count);
  const atUs = view(Float64Array, "atUs", "f64", n);
  const source = view(Uint8Array, "source", "u8", n);
  const record = view(Uint32Array, "record", "u32", n);
  const pid = view(Int32Array, "pid", "i32", n);
  const flags = view(Uint8Array, "flags", "u8", n);
  const kind = view(Uint16Array, "kind", "u16", n);
  const syscall = view(Uint16Array, "syscall", "u16", n);
  const errno = view(Uint16Array, "errno", "u16", n);
  const textBytes = view(Uint32Array, "textBytes", "u32", n);

  const sources = Object.keys(h.records) as RecordSource[];
  const expected = Object.keys(recordBytes) as RecordSource[];
  if (sources.length !== expected.length || sources.some((s) => recordBytes[s] === undefined)) bad(`it counts records of ${sources.join(", ") || "no source"} but the trial's record files are ${expected.join(", ") || "none"}`);
  const offsets: RecordOffsets = {};
  for (const s of sources) {
    const count = h.records[s]!;
    const o = view(Float64Array, `offsets.${s}`, "f64", count + 1);
    if (o[0] !== 0 || o[count] !== recordBytes[s]) bad(`the ${s} offsets do not span its record file (0 to ${recordBytes[s]} bytes)`);
    for (let i = 1; i <= count; i++) if (!(o[i]! > o[i - 1]!)) bad(`the ${s} offsets do not rise at record ${i - 1}`);
    offsets[s] = o;
  }
  const counts = SOURCES.map((s) => h.records[s] ?? 0);
  let textTotal = 0;
  let last = -Infinity;
  for (let i = 0; i < n; i++) {
    const s = source[i]!;
    if (s >= SOURCES.length || h.records[SOURCES[s]!] === undefined) bad(`row ${i} names an unknown source`);
    if (record[i]! >= counts[s]!) bad(`row ${i} names ${SOURCES[s]} record ${record[i]}, which does not exist`);
    const t = atUs[i]!;
    if (!Number.isFinite(t) || t < last) bad(`row ${i} is out of time order`);
    last = t;
    if (kind[i]! >= h.kinds.length || syscall[i]! >= h.syscalls.length || errno[i]! >= h.errnos.length) bad(`row ${i} names a kind, syscall or errno the header lacks`);
    textTotal += textBytes[i]!;
  }
  const text = column("text", "utf8", textTotal);
  const textStart = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) textStart[i + 1] = textStart[i]! + textBytes[i]!;
  const blob = Buffer.from(buf.buffer, text.at, text.bytes);
  // ASCII (the usual case) decodes once into one string whose slices are the rows' texts;
  // anything else is decoded row by row when shown.
  const whole = isAscii(blob) && blob.length < 256 << 20 ? blob.toString("latin1") : null;
  const textOf = whole !== null ? (i: number) => whole.slice(textStart[i], textStart[i + 1]) : (i: number) => blob.toString("utf8", textStart[i], textStart[i + 1]);
  return {
    columns: { n, atUs, source, record, pid, flags, kind, kinds: h.kinds, syscall, syscalls: h.syscalls, errno, errnos: h.errnos, counts, text: (i) => (i >= 0 && i < n ? textOf(i) : "") },
    offsets,
  };
}
