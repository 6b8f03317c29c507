import { isAscii } from "node:buffer";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createJsonLines } from "../../src/parse/record-json.js";
import { createStraceParser, parseStraceText, pidFromFileName } from "../../src/parse/strace.js";
import { STRACE_FIXTURES, straceCaptures } from "../support/strace-captures.js";

// --json has the parser leave arguments in the bytes read (argBytes) and writes them from
// there: the lines must be those of the full records, whatever the pieces a log is read in.
const STRACE = STRACE_FIXTURES;
const captures = straceCaptures().filter((name) => isAscii(readFileSync(join(STRACE, name))));

/** The log through pushAscii in pieces of `size` bytes, each piece's records written before the next push. */
function writtenFromBytes(bytes: Buffer, size: number, pid: number | undefined): string {
  const parser = createStraceParser({ pid, argBytes: true });
  const lines = createJsonLines();
  const out: string[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    // A copy per piece, overwritten once its records are written: they must not need it later.
    const piece = Uint8Array.from(bytes.subarray(at, at + size));
    for (const r of parser.pushAscii(piece, Buffer.from(piece).toString("latin1"))) lines.add(r);
    out.push(lines.take().toString("utf8"));
    piece.fill(0);
  }
  for (const r of parser.end()) lines.add(r);
  out.push(lines.take().toString("utf8"));
  return out.join("");
}

describe("JSON lines of arguments left in the bytes read", () => {
  it("covers ASCII captures", () => {
    expect(captures.length).toBeGreaterThan(10);
  });

  it.each(captures)("%s: what JSON.stringify writes for the full records", (name) => {
    const bytes = readFileSync(join(STRACE, name));
    const pid = pidFromFileName(name);
    const expected = parseStraceText(bytes.toString("utf8"), { pid })
      .map((r) => `${JSON.stringify(r)}\n`)
      .join("");
    for (const size of [bytes.length, 4096, 777]) expect(writtenFromBytes(bytes, size, pid)).toBe(expected);
  });
});
