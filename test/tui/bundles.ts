// Bundles for the replay tests: the real one captured by `forensics run` (committed under
// test/fixtures/replay/), and copies of it damaged or extended on purpose.

import { cp, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onTestFinished } from "vitest";
import { sha256File } from "../../src/bundle/hash.js";
import { findPackageRoot } from "../../src/probe/package-root.js";

/** `forensics run sigterm-race --init tini --observe none,strace+kernel` on the reference machine (see test/fixtures/replay/README.md). */
export const FIXTURE = join(findPackageRoot(), "test", "fixtures", "replay", "sigterm-race-20261130T090254Z-67223f");

/** A private copy of the fixture, removed after the test. */
export async function copyFixture(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "forensics-replay-test-"));
  onTestFinished(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, "bundle");
  await cp(FIXTURE, dir, { recursive: true });
  return dir;
}

export async function readJson<T = Record<string, unknown>>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, "utf8")) as T;
}

/** Re-hashes every file the manifest lists, as the writer would have (for deliberate edits). */
export async function rehash(dir: string): Promise<void> {
  const manifest = await readJson<{ files: { path: string; bytes: number; sha256: string }[] }>(join(dir, "manifest.json"));
  for (const f of manifest.files) {
    f.bytes = (await stat(join(dir, f.path))).size;
    f.sha256 = await sha256File(join(dir, f.path));
  }
  await writeFile(join(dir, "manifest.json"), JSON.stringify(manifest, null, 1));
}

/** A probe event whose text is full of escape sequences and control bytes, put into trial `id`'s timeline at `atUs`. */
export const HOSTILE_TEXT = "EVIL\x1b[2J\x1b[H\x1b]0;pwned\x07\x1b[31mred\rCR\x08\x00\x7f\u200e\u0301 wide:漢字 end";

export async function addHostileRecord(dir: string, id: string, atUs: number): Promise<void> {
  const evidence = await readJson<{ trials: { id: string; originUs: number; records: { probe: unknown[] }; timeline: { atUs: number }[] }[] }>(join(dir, "evidence.json"));
  const trial = evidence.trials.find((t) => t.id === id)!;
  const index = trial.records.probe.length;
  trial.records.probe.push({ kind: "probe", tsUs: trial.originUs + atUs, ev: HOSTILE_TEXT, fields: { note: HOSTILE_TEXT } });
  trial.timeline.push({ atUs, source: "probe", index, pid: null, text: HOSTILE_TEXT } as never);
  trial.timeline.sort((a, b) => a.atUs - b.atUs);
  await writeFile(join(dir, "evidence.json"), JSON.stringify(evidence));
  await rehash(dir);
}
