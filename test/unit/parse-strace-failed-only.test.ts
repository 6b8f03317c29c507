import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createStraceParser, parseStraceText, pidFromFileName } from "../../src/parse/strace.js";
import { STRACE_FIXTURES, straceCaptures } from "../support/strace-captures.js";

// failedOnly (the failure table's mode) must leave out exactly the syscall records without an
// errno, count them, and give every other record as the full parse does.
const DIR = STRACE_FIXTURES;
const FIXTURES = straceCaptures().sort();

describe("strace parser, failedOnly", () => {
  it.each(FIXTURES)("%s: the full parse without its calls that did not fail, which are counted", (name) => {
    const text = readFileSync(join(DIR, name), "utf8");
    const pid = pidFromFileName(name);
    const full = parseStraceText(text, { pid });
    const parser = createStraceParser({ pid, failedOnly: true });
    const failed = [...parser.pushText(text), ...parser.end()];
    const kept = full.filter((r) => r.kind !== "syscall" || r.errno !== null);
    expect(failed).toEqual(kept);
    expect(parser.omitted()).toBe(full.length - kept.length);
  });

  it("finds failed calls in the fixtures", () => {
    const failed = FIXTURES.flatMap((name) =>
      parseStraceText(readFileSync(join(DIR, name), "utf8"), { failedOnly: true }).filter((r) => r.kind === "syscall"),
    );
    expect(failed.length).toBeGreaterThan(20);
  });
});
