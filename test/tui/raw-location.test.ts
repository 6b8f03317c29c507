import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { writeSyntheticBundle } from "../../bench/replay-bundle.js";
import type { BundleTrial } from "../../src/bundle/bundle-trial.js";
import { readBundle } from "../../src/bundle/read.js";
import { makeRawLocator, windowSearch } from "../../src/tui/raw-location.js";

// A strace log above the size the locator reads whole (8 MiB): records are found by a binary
// search over positional reads, at the byte offset where a full read finds them.
describe("raw lines of a big strace log", () => {
  let root: string;
  let dir: string;
  let trial: BundleTrial;
  let log: Buffer;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "forensics-raw-location-"));
    dir = await writeSyntheticBundle(root, 120_000);
    trial = (await readBundle(dir)).trials[0]!;
    log = await readFile(join(dir, trial.raw["strace.log"]!));
    expect(log.length).toBeGreaterThan(8 << 20);
  }, 60_000);
  afterAll(() => rm(root, { recursive: true, force: true }));

  test.each([0, 1, 997, 60_000, 118_999, 119_999])("record %d: its own line, at its byte offset", (i) => {
    const r = trial.record("strace", i)!;
    const [line] = makeRawLocator(dir).locate(trial, "strace", i, r);
    expect(line).toBeDefined();
    const us = r.tsUs as number;
    expect(line!.text).toMatch(new RegExp(`^${r.pid as number} +${Math.floor(us / 1e6)}\\.${String(us % 1e6).padStart(6, "0")} `));
    expect(log.subarray(line!.offset, line!.offset + Buffer.byteLength(line!.text)).toString("utf8")).toBe(line!.text);
    expect(line!.offset === 0 || log[line!.offset - 1] === 0x0a).toBe(true);
    // … and it was the windowed search that found it, not a read of the whole file.
    expect(windowSearch(join(dir, trial.raw["strace.log"]!), trial.raw["strace.log"]!, r as never)).toEqual([line]);
  });
});
