import { mkdtemp, open, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeSyntheticBundle } from "../../bench/replay-bundle.js";
import { readBundle, type Bundle } from "../../src/bundle/read.js";
import { HarnessError } from "../../src/errors.js";
import { FACET } from "../../src/evidence/facets.js";

// BundleWriter with a trial far bigger than any fixture (the bench's synthetic strace trial):
// a single JSON.stringify of it would reach V8's string limit at about a million records;
// here every file is written in pieces and read back without parsing a record.
const N = 200_000;

describe(`BundleWriter with ${N.toLocaleString("en")} records in one trial`, () => {
  let root: string;
  let dir: string;
  let bundle: Bundle;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "forensics-write-large-"));
    dir = await writeSyntheticBundle(root, N);
    bundle = await readBundle(dir);
  }, 120_000);
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("writes a complete bundle whose evidence.json holds only the trial's header", async () => {
    expect(bundle.manifest.status).toBe("complete");
    expect((await stat(join(dir, "evidence.json"))).size).toBeLessThan(4096);
    const records = bundle.manifest.files.find((f) => f.path.endsWith("/strace.ndjson"))!;
    expect(records.bytes).toBeGreaterThan(N * 100);
  });

  it("reads back every row's columns, and any record on demand", () => {
    const [trial] = bundle.trials;
    const c = trial!.columns();
    expect(c.n).toBe(N + 2);
    expect(c.counts).toEqual([N, 0, 0, 1, 1]);
    let unordered = 0;
    for (let i = 1; i < c.n; i++) if (c.atUs[i]! < c.atUs[i - 1]!) unordered++;
    expect(unordered).toBe(0);
    const last = trial!.record("strace", N - 1)!;
    expect(last).toMatchObject({ kind: "syscall", pid: 4000 + ((N - 1) % 8) });
    expect(trial!.record("strace", N - 1000)).toMatchObject({ kind: "signal", signal: "SIGTERM" });
    const row = c.record.indexOf(N - 1000, 2);
    expect(c.flags[row]! & FACET.signal).toBe(FACET.signal);
    expect(c.text(row)).toContain("SIGTERM");
  });

  it("refuses it once one byte of the record file changed (hashed in worker threads): nothing opens", async () => {
    const path = bundle.manifest.files.find((f) => f.path.endsWith("/strace.ndjson"))!.path;
    const fd = await open(join(dir, path), "r+");
    await fd.write(Buffer.from("7"), 0, 1, Math.floor(N * 150));
    await fd.close();
    const err = await readBundle(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as HarnessError).message).toContain(`${path} does not match its sha256`);
  });
});
