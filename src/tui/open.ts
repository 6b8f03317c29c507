import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { extractArchive, openBundle } from "../bundle/archive.js";
import { trialFromEvidence } from "../bundle/bundle-trial.js";
import { Manifest } from "../bundle/manifest.js";
import { readBundle } from "../bundle/read.js";
import { HarnessError, isHarnessError } from "../errors.js";
import { loadRawTrials } from "../evidence/load.js";
import type { ReplayData } from "./session.js";

export interface OpenedReplay extends ReplayData {
  close(): Promise<void>;
}

/**
 * Opens what the user named for replay: a bundle directory or its .tar.gz. A bundle that
 * fails verification opens nothing (BAD_BUNDLE, one line). A partial bundle (a run cut
 * short) whose evidence was never written is rebuilt from its raw captures, and says so.
 */
export async function openReplay(target: string): Promise<OpenedReplay> {
  const st = await stat(target).catch(() => null);
  if (st === null) throw new HarnessError("BAD_INPUT", `${target}: no such bundle directory or archive`);
  if (st.isDirectory()) return { ...(await openDir(target, target)), close: async () => {} };
  // An archive: the export's safe extraction and checks (the one way archives are opened).
  try {
    const b = await openBundle(target);
    return { source: target, dir: b.dir, manifest: b.manifest, partial: partialReason(b.manifest), trials: b.trials, findings: b.findings.findings, close: b.close };
  } catch (err) {
    if (!isPartialWithoutEvidence(err)) throw err;
  }
  const extracted = await extractArchive(target);
  if (!extracted.ok) throw new HarnessError("BAD_BUNDLE", `${target}: ${extracted.refusal}`);
  try {
    return { ...(await openDir(extracted.root, target)), close: extracted.remove };
  } catch (err) {
    await extracted.remove();
    throw err;
  }
}

const partialReason = (m: Manifest): string | null => (m.status === "partial" ? (m.reason ?? "the run stopped early") : null);
const isPartialWithoutEvidence = (err: unknown): boolean => isHarnessError(err) && /is not listed in the manifest \(partial bundle/.test(err.message);

async function openDir(dir: string, source: string): Promise<ReplayData> {
  try {
    const b = await readBundle(dir);
    return { source, dir, manifest: b.manifest, partial: partialReason(b.manifest), trials: b.trials, findings: b.findings.findings };
  } catch (err) {
    // Only a partial bundle's missing evidence is recoverable: every listed file has already passed its hash.
    if (!isPartialWithoutEvidence(err)) throw err;
    const manifest = Manifest.parse(JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")));
    const trials = await loadRawTrials(dir).catch((e: Error) => {
      throw new HarnessError("BAD_BUNDLE", `${source}: partial bundle, and its raw captures cannot be read either: ${e.message}`);
    });
    return { source, dir, manifest, partial: `${manifest.reason ?? "the run stopped early"}; evidence rebuilt from raw/, no findings`, trials: trials.map(trialFromEvidence), findings: [] };
  }
}
