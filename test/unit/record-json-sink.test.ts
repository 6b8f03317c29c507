import { isAscii } from "node:buffer";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createJsonLines } from "../../src/parse/record-json.js";
import { createStraceParser, parseStraceText, pidFromFileName } from "../../src/parse/strace.js";
import { STRACE_FIXTURES, straceCaptures } from "../support/strace-captures.js";

// --json gives the parser its writer as the sink: each call read from one line is written
// from the bytes read (a LineCall), every other record as it comes. The lines must be those of
// the full records, in their order, whatever the pieces a log is read in.
const STRACE = STRACE_FIXTURES;
const captures = straceCaptures().filter((name) => isAscii(readFileSync(join(STRACE, name))));

/** The log through pushAscii in pieces of `size` bytes, each piece's lines taken before the next push. */
function writtenFromBytes(bytes: Buffer, size: number, pid: number | undefined): string {
  const lines = createJsonLines();
  const parser = createStraceParser({ pid, sink: lines });
  const out: string[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    // A copy per piece, overwritten once it is parsed: what was written must not need it later.
    const piece = Uint8Array.from(bytes.subarray(at, at + size));
    expect(parser.pushAscii(piece, Buffer.from(piece).toString("latin1"))).toEqual([]);
    piece.fill(0);
    out.push(lines.take().toString("utf8"));
  }
  expect(parser.end()).toEqual([]);
  out.push(lines.take().toString("utf8"));
  return out.join("");
}

describe("JSON lines written by the parser's sink", () => {
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

  it("takes text that is not ASCII (pushText) as records, in order, with the same lines", () => {
    // A real capture, its ASCII pieces interleaved with text pieces, as a log with some non-ASCII
    // bytes is read: every call of a text piece reaches the sink as a record.
    const text = readFileSync(join(STRACE, "go-sigterm-threads.log"), "utf8");
    const lines = createJsonLines();
    const parser = createStraceParser({ sink: lines });
    const seen: string[] = [];
    for (let at = 0, k = 0; at < text.length; at += 1000, k++) {
      const piece = text.slice(at, at + 1000);
      const returned = k % 2 === 0 ? parser.pushText(piece) : parser.pushAscii(Uint8Array.from(Buffer.from(piece, "latin1")), piece);
      expect(returned).toEqual([]);
      seen.push(lines.take().toString("utf8"));
    }
    expect(parser.end()).toEqual([]);
    seen.push(lines.take().toString("utf8"));
    expect(seen.join("")).toBe(parseStraceText(text).map((r) => `${JSON.stringify(r)}\n`).join(""));
  });
});
