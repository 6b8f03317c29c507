// Go's build info, read the way debug/buildinfo does (src/debug/buildinfo/buildinfo.go),
// without running the binary: the 32-byte header "\xff Go buildinf:" that the linker puts
// at the start of .go.buildinfo, then — since Go 1.18 (flagsVersionInl) — the Go version
// and the module info as two uvarint-length-prefixed strings right after it. Pure.

import { readSection } from "./elf.js";

const MAGIC = Buffer.from("\xff Go buildinf:", "latin1");
const HEADER_SIZE = 32;
// The linker aligns the header to 16 bytes; debug/buildinfo searches at that stride.
const ALIGN = 16;
const FLAGS_VERSION_INLINE = 0x2;
// runtime/debug's modinfo is wrapped in two 16-byte sentinels (cmd/go/internal/modload.ModInfoData).
const SENTINEL_SIZE = 16;

export interface GoModule {
  path: string;
  version: string;
  /** go.sum's h1: hash; absent for the main module and replaced modules without one. */
  sum?: string;
}

export type GoBuildInfo =
  | {
      kind: "go";
      /** "go1.26.8" */
      goVersion: string;
      /** The main package's import path ("example.com/srv/cmd/srv", "command-line-arguments"). */
      path: string | null;
      main: GoModule | null;
      deps: GoModule[];
      /** `build` lines: "-ldflags" → "-s -w", "CGO_ENABLED" → "0", "GOARCH" → "amd64", … */
      settings: Record<string, string>;
    }
  /** A Go binary from before Go 1.18, whose header points at the strings instead of holding them. */
  | { kind: "go-pre-1.18" };

/** The build info of an ELF Go binary, or null when it has none (not Go, or a Go object file). */
export function readGoBuildInfo(elf: Buffer): GoBuildInfo | null {
  const section = readSection(elf, ".go.buildinfo");
  if (section !== null && section.subarray(0, MAGIC.length).equals(MAGIC)) return parseBuildInfoAt(section, 0);
  // No such section (an external linker may merge it into .data): search as debug/buildinfo does.
  const at = findMagic(elf);
  return at === null ? null : parseBuildInfoAt(elf, at);
}

function findMagic(buf: Buffer): number | null {
  for (let at = buf.indexOf(MAGIC); at >= 0; at = buf.indexOf(MAGIC, at + 1)) {
    if (at % ALIGN === 0) return at;
  }
  return null;
}

function parseBuildInfoAt(buf: Buffer, at: number): GoBuildInfo | null {
  if (buf.length < at + HEADER_SIZE) return null;
  const flags = buf[at + MAGIC.length + 1]!;
  if ((flags & FLAGS_VERSION_INLINE) === 0) return { kind: "go-pre-1.18" };
  const version = readVarString(buf, at + HEADER_SIZE);
  if (version === null) return null;
  const modinfo = readVarString(buf, version.end);
  return { kind: "go", goVersion: version.text, ...parseModInfo(modinfo === null ? "" : stripSentinels(modinfo.text)) };
}

/** A uvarint byte count, then that many bytes (Go's encoding/binary.Uvarint). */
function readVarString(buf: Buffer, at: number): { text: string; end: number } | null {
  let length = 0;
  let shift = 0;
  for (let i = at; i < buf.length && shift < 35; i++, shift += 7) {
    const byte = buf[i]!;
    length += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) {
      const start = i + 1;
      if (start + length > buf.length) return null;
      return { text: buf.toString("utf8", start, start + length), end: start + length };
    }
  }
  return null;
}

function stripSentinels(modinfo: string): string {
  // As debug/buildinfo: only strip when the string really is wrapped (the 17th byte from the end is '\n').
  if (modinfo.length >= 2 * SENTINEL_SIZE + 1 && modinfo[modinfo.length - SENTINEL_SIZE - 1] === "\n") {
    return modinfo.slice(SENTINEL_SIZE, -SENTINEL_SIZE);
  }
  return "";
}

/** runtime/debug.BuildInfo's text form: tab-separated `path`, `mod`, `dep`, `=>`, `build` lines. */
export function parseModInfo(text: string): Omit<Extract<GoBuildInfo, { kind: "go" }>, "kind" | "goVersion"> {
  let path: string | null = null;
  let main: GoModule | null = null;
  const deps: GoModule[] = [];
  const settings: Record<string, string> = {};
  let last: GoModule | null = null;
  for (const line of text.split("\n")) {
    const [key, ...fields] = line.split("\t");
    if (key === "path") path = fields[0] ?? null;
    else if (key === "mod") last = main = readModule(fields);
    else if (key === "dep") deps.push((last = readModule(fields)));
    // A replacement line follows its module; the replacement is what was built.
    else if (key === "=>" && last !== null) Object.assign(last, readModule(fields));
    else if (key === "build") {
      const setting = fields.join("\t");
      const eq = setting.indexOf("=");
      if (eq > 0) settings[setting.slice(0, eq)] = unquote(setting.slice(eq + 1));
    }
  }
  return { path, main, deps, settings };
}

function readModule([path = "", version = "", sum]: string[]): GoModule {
  return sum ? { path, version, sum } : { path, version };
}

// BuildInfo.String quotes a value with strconv.Quote when it holds spaces, tabs, quotes or
// newlines; for those characters Go's quoting and JSON's agree.
function unquote(value: string): string {
  if (!value.startsWith('"')) return value;
  try {
    return JSON.parse(value) as string;
  } catch {
    return value;
  }
}
