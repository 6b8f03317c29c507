import { randomBytes } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { HarnessError, toOutputFault } from "../errors.js";
import { openBundle } from "./archive.js";
import { loadBundle, type Bundle } from "./read.js";
import { LINE_FILES } from "./raw-lines.js";
import { buildReportModel, type BundleRawTexts, type ReportModel } from "./report-model.js";

// `forensics report`'s I/O: open the bundle (directory or archive, verified), read the raw
// files the findings cite, build the view model; the renderers are pure.

export async function loadReportModel(target: string, options: { allowPartial?: boolean } = {}): Promise<ReportModel> {
  const bundle = await openBundle(target, options);
  try {
    return buildReportModel(loadBundle(bundle), await readCitedRaw(bundle));
  } finally {
    await bundle.close();
  }
}

/** The raw files whose lines a report quotes, of every trial a finding cites (verified by openBundle). */
async function readCitedRaw(bundle: Bundle): Promise<BundleRawTexts> {
  const cited = new Set(bundle.findings.findings.flatMap((f) => f.evidence.map((e) => e.trial)));
  const out: BundleRawTexts = {};
  for (const trial of bundle.trials) {
    if (!cited.has(trial.id)) continue;
    out[trial.id] = {};
    for (const [name, path] of Object.entries(trial.raw)) if (LINE_FILES.includes(name)) out[trial.id]![name] = await readFile(join(bundle.dir, path), "utf8");
  }
  return out;
}

/**
 * Writes a report (or a trace) whole or not at all: a reader never sees half a file. Never
 * inside the bundle it was made from, where it would be a file the manifest does not list.
 */
export async function writeOutput(out: string, text: string, bundle: string): Promise<void> {
  const path = resolve(out);
  if (path.startsWith(resolve(bundle) + sep)) throw new HarnessError("USAGE", `${out}: write it outside the bundle it comes from (an unlisted file there fails verification)`);
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
