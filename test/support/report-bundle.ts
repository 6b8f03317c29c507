// A real, complete bundle with kernel records, for report and Perfetto tests: the raw
// captures of test/fixtures/report/kernel-run (seven trials of a real run) written through
// BundleWriter with that run's params and host facts, as `run` writes a bundle.

import { cp, readFile } from "node:fs/promises";
import { join } from "node:path";
import sigtermRace from "../../scenarios/sigterm-race/index.js";
import { BundleWriter } from "../../src/bundle/write.js";
import { loadRawTrials } from "../../src/evidence/load.js";
import { sameVariant } from "../../src/evidence/schemas.js";

export const KERNEL_RUN = join(import.meta.dirname, "../fixtures/report/kernel-run");

export async function writeKernelRunBundle(root: string): Promise<string> {
  const recorded = JSON.parse(await readFile(join(KERNEL_RUN, "manifest.json"), "utf8")) as { params: Record<string, unknown>; host: never };
  const trials0 = await loadRawTrials(KERNEL_RUN);
  const variants = trials0.map((t) => t.variant).filter((v, i, all) => all.findIndex((w) => sameVariant(v, w)) === i);
  const writer = await BundleWriter.create(root, "sigterm-race", recorded.params, variants);
  await cp(join(KERNEL_RUN, "raw"), join(writer.dir, "raw"), { recursive: true });
  const trials = await loadRawTrials(writer.dir);
  const findings = variants.flatMap((v) => sigtermRace.analyse(v, trials.filter((t) => sameVariant(t.variant, v))));
  await writer.finish({ trials, findings, host: recorded.host });
  return writer.dir;
}
