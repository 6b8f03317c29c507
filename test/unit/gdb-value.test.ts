import { describe, expect, it } from "vitest";
import { parseGdbValue } from "../../src/parse/gdb-value.js";

// gdb's value syntax beyond what the captured transcripts show (those are pinned by the
// goldens of parse-gdb.test.ts): C strings with repeats, casts, notes, unreadable text.
describe("parseGdbValue", () => {
  it.each([
    ["18446744073709551615", "18446744073709551615"],
    ["0xffffffffffffffff", "0xffffffffffffffff"],
    ["9007199254740991", 9007199254740991],
    ["-1", -1],
    ["3.5", 3.5],
    ["0 '\\000'", 0],
    ['"ab", \'x\' <repeats 3 times>, "cd"', "abxxxcd"],
    ['"trunc"...', "trunc"],
    ['0x4b1234 "UTC"', { address: 0x4b1234, string: "UTC" }],
    ["0x5dc080 <runtime.g0>", { address: 0x5dc080, symbol: "runtime.g0" }],
    ["(runtime.g *) 0xc000002380", { type: "runtime.g *", address: 0xc000002380 }],
    ["{1, 2 <repeats 3 times>, 3...}", [1, 2, 2, 2, 3]],
    ["{}", []],
    ["{<No data fields>}", {}],
    ["{a = <optimized out>, b = <error: Cannot access memory at address 0x0>}", { a: "<optimized out>", b: "<error: Cannot access memory at address 0x0>" }],
    ["{x = {y = {z = true}}, w = false}", { x: { y: { z: true } }, w: false }],
  ])("%s", (text, value) => {
    expect(parseGdbValue(text)).toEqual({ ok: true, value });
  });

  it.each(["{a = 1", '"open', "{1, 2} trailing", ""])("refuses %j with a reason, without throwing", (text) => {
    const result = parseGdbValue(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).not.toBe("");
  });
});
