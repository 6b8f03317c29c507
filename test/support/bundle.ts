// A real, complete bundle for tests that read or export one: the raw captures the harness
// recorded for sigterm-race (test/fixtures/sigterm-race/namespace/raw, three variants, 24
// trials), written through BundleWriter so evidence, findings and the manifest are exactly
// what `run` writes. (The fixture directory itself is not a bundle: it keeps golden files
// beside the captures and no evidence.json.)

import { cp } from "node:fs/promises";
import { join } from "node:path";
import sigtermRace from "../../scenarios/sigterm-race/index.js";
import { loadRawTrials } from "../../src/evidence/load.js";
import { BundleWriter } from "../../src/bundle/write.js";
import { sameVariant } from "../../src/evidence/schemas.js";

export const FIXTURE_RAW = join(import.meta.dirname, "../fixtures/sigterm-race/namespace/raw");

/**
 * Writes the bundle under root; returns its directory. `plant` may change the raw captures
 * first (as if an observer had captured more): evidence is then parsed from what it wrote,
 * and the manifest hashes it, exactly as in a run.
 */
export async function writeRealBundle(root: string, plant?: (dir: string) => Promise<void>): Promise<string> {
  const recorded = await loadRawTrials(join(FIXTURE_RAW, ".."));
  const variants = recorded.map((t) => t.variant).filter((v, i, all) => all.findIndex((w) => sameVariant(v, w)) === i);
  const writer = await BundleWriter.create(root, "sigterm-race", { runtime: "namespace", trials: 1 }, variants);
  await cp(FIXTURE_RAW, join(writer.dir, "raw"), { recursive: true, filter: (src) => !src.endsWith(".golden.jsonl") });
  await plant?.(writer.dir);
  const trials = await loadRawTrials(writer.dir);
  const findings = variants.flatMap((v) => sigtermRace.analyse(v, trials.filter((t) => sameVariant(t.variant, v))));
  await writer.finish({ trials, findings, host: { kernel: "6.18.44", node: process.version, tools: {} } });
  return writer.dir;
}
