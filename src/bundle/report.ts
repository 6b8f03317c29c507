import { randomBytes } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { HarnessError, toOutputFault } from "../errors.js";
import { openBundle } from "./archive.js";
import type { Bundle } from "./read.js";
import { buildReportModel, type BundleRawTexts, type ReportModel } from "./report-model.js";

// `forensics report`'s I/O: open the bundle (directory or archive, verified), read the raw
// files the findings cite, build the view model; the renderers are pure.

export async function loadReportModel(target: string): Promise<ReportModel> {
  const bundle = await openBundle(target);
  try {
    return buildReportModel(bundle, await readCitedRaw(bundle));
  } finally {
    await bundle.close();
  }
}

/** The raw files of every trial a finding cites, by trial id then file name (verified by openBundle). */
async function readCitedRaw(bundle: Bundle): Promise<BundleRawTexts> {
  const cited = new Set(bundle.findings.findings.flatMap((f) => f.evidence.map((e) => e.trial)));
  const out: BundleRawTexts = {};
  for (const trial of bundle.evidence.trials) {
    if (!cited.has(trial.id)) continue;
    out[trial.id] = {};
    for (const [name, path] of Object.entries(trial.raw)) out[trial.id]![name] = await readFile(join(bundle.dir, path), "utf8");
  }
  return out;
}

/** Writes a report (or any text output) whole or not at all: a reader never sees half a file. */
export async function writeOutput(out: string, text: string): Promise<void> {
  const path = resolve(out);
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    await writeFile(tmp, text, { flag: "wx", mode: 0o644 });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    const fault = toOutputFault(err, { path, fix: "pick another -o" });
    if (fault) throw fault;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined) throw err;
    throw new HarnessError("OUTPUT_FAILED", `cannot write ${path}: ${code === "ENOENT" ? "its directory does not exist" : code} (${code}): pick another -o`, { cause: err });
  }
}
