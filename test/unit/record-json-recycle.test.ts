import { describe, expect, it } from "vitest";
import { createJsonLines } from "../../src/parse/record-json.js";
import type { StraceRecord } from "../../src/parse/records.js";

// --json gives each written chunk back to be filled again rather than left to the GC.
const exit = (code: number): StraceRecord => ({ kind: "exit", pid: code, ts: null, tsUs: null, exitCode: code });

describe("JSON lines, buffers given back", () => {
  it("fills a given-back buffer again, with the same text as a new one", () => {
    const lines = createJsonLines();
    lines.add(exit(1));
    const first = lines.take();
    expect(first.toString()).toBe(`${JSON.stringify(exit(1))}\n`);
    lines.recycle(first);
    // The buffer after the next one: take() had already started that one.
    lines.add(exit(2));
    lines.take();
    lines.add(exit(3));
    const third = lines.take();
    expect(third.buffer === first.buffer).toBe(true);
    expect(third.toString()).toBe(`${JSON.stringify(exit(3))}\n`);
  });

  it("leaves buffers it did not give out, or a slice of one, to the GC", () => {
    const lines = createJsonLines();
    lines.add(exit(1));
    const taken = lines.take();
    lines.recycle(taken.subarray(1));
    lines.recycle(Buffer.alloc(10));
    lines.add(exit(3));
    lines.take();
    lines.add(exit(4));
    expect(lines.take().buffer === taken.buffer).toBe(false);
  });
});
