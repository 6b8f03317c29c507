import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createJsonLines } from "../../src/parse/record-json.js";
import type { StraceRecord } from "../../src/parse/records.js";
import { parseStraceText, pidFromFileName } from "../../src/parse/strace.js";
import { STRACE_FIXTURES, straceCaptures } from "../support/strace-captures.js";

// --json writes records as bytes of its own making; they must be exactly JSON.stringify's text.
const STRACE = STRACE_FIXTURES;
const captures = straceCaptures();

const written = (records: StraceRecord[]): string => {
  const lines = createJsonLines();
  for (const r of records) lines.add(r);
  return lines.take().toString("utf8");
};
const stringified = (records: StraceRecord[]): string => records.map((r) => `${JSON.stringify(r)}\n`).join("");

describe("JSON lines of strace records", () => {
  it.each(captures)("%s: byte for byte what JSON.stringify writes", (name) => {
    const records = parseStraceText(readFileSync(join(STRACE, name), "utf8"), { pid: pidFromFileName(name) });
    expect(written(records)).toBe(stringified(records));
  });

  it("escapes and encodes every kind of character as JSON.stringify does", () => {
    // Control characters, quotes, DEL, 2-, 3- and 4-byte UTF-8, and lone surrogates (which
    // JSON.stringify escapes instead of writing invalid UTF-8).
    const text = ["\u0000\u0001\b\t\n\u000b\f\r\u001f", '"\\/', "\u007f", "é", "€", "😀", "\ud800", "x\udfffy", "\ud83d"].join(" ");
    const records: StraceRecord[] = [
      { kind: "unparsed", pid: null, ts: null, tsUs: null, line: text, reason: text },
      { kind: "signal", pid: 7, ts: null, tsUs: null, signal: "SIGTERM", info: { si_code: text, si_pid: "1" } },
    ];
    expect(written(records)).toBe(stringified(records));
  });

  it("writes every µs stamp and integer as JSON.stringify does", () => {
    const stamps = [0, 1, 10, 999_999, 1_000_000, 1_000_001, 592, 83337_000000, 86_399_999_999, 1795648135_460682, 1795648135_000100, 3_999_999_999_999_999];
    for (let i = 0; i < 2000; i++) stamps.push(Math.floor(Math.random() * 4e15), Math.floor(Math.random() * 1e9));
    const records: StraceRecord[] = stamps.map((us) => ({ kind: "exit", pid: us % 100_000, ts: us / 1e6, tsUs: us, exitCode: -(us % 256) }));
    // A stamp printed with ns keeps digits ts/1e6 would not: written the long way.
    records.push({ kind: "exit", pid: -1, ts: 1795648135.460682123, tsUs: 1795648135460682, exitCode: 0 });
    expect(written(records)).toBe(stringified(records));
  });
});
