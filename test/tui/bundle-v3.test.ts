import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadBundle, readBundle } from "../../src/bundle/read.js";
import { checkBundleDir } from "../../src/bundle/verify.js";
import { BundleWriter } from "../../src/bundle/write.js";
import { HarnessError } from "../../src/errors.js";
import { openReplay } from "../../src/tui/open.js";
import { makeRawLocator } from "../../src/tui/raw-location.js";
import { ReplaySession, type ReplayData } from "../../src/tui/session.js";
import { FLAG } from "../../src/tui/trial-index.js";
import { detailLines, headerLines, plain, timelineLines } from "../../src/tui/view-model.js";
import { FIXTURE, rehash } from "./bundles.js";

// The committed replay fixture is a version 2 bundle captured by a real run. Written again
// through BundleWriter it becomes version 3 (records and timeline per trial, under
// evidence/); the replay must show both the same way, row for row.

let root: string;
let v2: ReplayData;
let v3: ReplayData;
let v3dir: string;

/** The fixture's trials and findings, written as `run` writes a bundle (raw/ copied first). */
async function writeV3(at: string, reason?: string): Promise<string> {
  const source = loadBundle(await readBundle(FIXTURE));
  const writer = await BundleWriter.create(at, source.manifest.scenario, source.manifest.params, source.manifest.variants);
  await cp(join(FIXTURE, "raw"), join(writer.dir, "raw"), { recursive: true });
  await writer.finish({ trials: source.trials, findings: source.findings.findings, host: source.manifest.host, reason });
  return writer.dir;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "forensics-bundle-v3-"));
  v2 = await openReplay(FIXTURE);
  v3dir = await writeV3(join(root, "v3"));
  v3 = await openReplay(v3dir);
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe("a version 3 bundle replays as its version 2 original", () => {
  test("the fixture is version 2 and still opens; its rewrite is version 3", () => {
    expect(v2.manifest.schemaVersion).toBe(2);
    expect(v3.manifest.schemaVersion).toBe(3);
    expect(new ReplaySession(v2).index.n).toBeGreaterThan(0);
    expect(v3.trials.map((t) => t.id)).toEqual(v2.trials.map((t) => t.id));
  });

  test("every trial: the same rows, times, sources, pids, facets, texts and records", () => {
    const s2 = new ReplaySession(v2);
    const s3 = new ReplaySession(v3);
    for (let pos = 0; pos < s2.order.length; pos++) {
      const a = s2.indexOf(pos);
      const b = s3.indexOf(pos);
      expect(b.trial.id).toBe(a.trial.id);
      for (const k of ["n", "atUs", "source", "record", "pid", "flags", "kinds", "syscalls", "errnos", "counts"] as const) expect(b[k], `${a.trial.id} ${k}`).toEqual(a[k]);
      for (let i = 0; i < a.n; i++) {
        expect(b.text(i)).toBe(a.text(i));
        expect(s3.record(i, b)).toEqual(s2.record(i, a));
      }
    }
  });

  test("the detail pane of every signal, exit and failure row of t005 (raw lines, fields, causal chain) is the same", () => {
    const s2 = new ReplaySession(v2);
    const s3 = new ReplaySession(v3);
    for (const s of [s2, s3]) while (s.trial.id !== "t005") s.switchTrial(1);
    const raw2 = makeRawLocator(v2.dir);
    const raw3 = makeRawLocator(v3.dir);
    let compared = 0;
    for (let row = 0; row < s2.index.n; row++) {
      if ((s2.index.flags[row]! & (FLAG.signal | FLAG.exit | FLAG.failed)) === 0) continue;
      s2.cursorRow = row;
      s3.cursorRow = row;
      expect(detailLines(s3, raw3, 160).map(plain)).toEqual(detailLines(s2, raw2, 160).map(plain));
      compared++;
    }
    expect(compared).toBeGreaterThan(10);
    expect(timelineLines(s3, 160, 20).map(plain)).toEqual(timelineLines(s2, 160, 20).map(plain));
  });

  test("a changed record file opens nothing and names the file", async () => {
    const dir = join(root, "tampered");
    await cp(v3dir, dir, { recursive: true });
    const path = (await readBundle(dir)).manifest.files.find((f) => f.path.endsWith("t005/strace.ndjson"))!.path;
    const text = await readFile(join(dir, path), "utf8");
    await writeFile(join(dir, path), text.replace('"syscall":"execve"', '"syscall":"exexve"'));
    const err = await openReplay(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as HarnessError).code).toBe("BAD_BUNDLE");
    expect((err as HarnessError).message).toContain(`${path} does not match its sha256`);
  });

  test("a record that fails its schema (hashes made to match): verify names it, the replay shows it as invalid", async () => {
    const dir = join(root, "invalid");
    await cp(v3dir, dir, { recursive: true });
    const path = (await readBundle(dir)).manifest.files.find((f) => f.path.endsWith("t005/strace.ndjson"))!.path;
    const lines = (await readFile(join(dir, path), "utf8")).split("\n");
    // Same length, so the timeline's offsets still hold: only the record's content is wrong.
    lines[0] = lines[0]!.replace('"unfinished":false', '"unfinished":"no!"');
    await writeFile(join(dir, path), lines.join("\n"));
    await rehash(dir);
    const check = await checkBundleDir(dir);
    expect(check.problems).toEqual([{ path, problem: expect.stringMatching(/^line 1 does not match the strace record schema: /) }]);

    const opened = await openReplay(dir);
    const s = new ReplaySession(opened);
    while (s.trial.id !== "t005") s.switchTrial(1);
    const row = s.index.rowOf("strace", 0);
    expect(row).toBeGreaterThanOrEqual(0);
    s.cursorRow = row;
    expect(s.record(row)?.kind).toBe("invalid");
    const detail = detailLines(s, makeRawLocator(opened.dir), 200).map(plain).join("\n");
    expect(detail).toMatch(/strace#0 invalid/);
    expect(detail).toContain("does not match the strace record schema");
  });

  test("a partial version 3 bundle opens with its partial mark", async () => {
    const dir = await writeV3(join(root, "partial"), "interrupted (SIGINT/SIGTERM)");
    const opened = await openReplay(dir);
    expect(opened.manifest.status).toBe("partial");
    expect(opened.partial).toContain("interrupted");
    expect(plain(headerLines(new ReplaySession(opened), 200)[0]!)).toContain("PARTIAL: interrupted (SIGINT/SIGTERM)");
  });
});
