import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { buildTimeline } from "../evidence/timeline.js";
import { TrialRequest, Variant, type TrialEvidence } from "../evidence/schemas.js";
import { nsTextToUs, parseProbeText } from "../parse/probe.js";
import { parseStraceText } from "../parse/strace.js";
import type { ProbeEvent } from "../parse/records.js";

/** The raw captures of a trial, by record source, as the bundle names them. */
export const RAW_FILES = { strace: "strace.log", probe: "probe.jsonl", runtime: "runtime.jsonl" } as const;

/**
 * Rebuilds a trial's evidence from its raw directory alone: runtime.jsonl opens with a
 * `trial` event (id, variant, request) and holds the driver's `execNs`, the timeline's
 * origin. Evidence is therefore always re-derivable from what was captured.
 */
export async function loadTrialEvidence(bundleDir: string, trialDir: string): Promise<TrialEvidence> {
  const raw: Record<string, string> = {};
  const text: Partial<Record<keyof typeof RAW_FILES, string>> = {};
  for (const [source, name] of Object.entries(RAW_FILES) as [keyof typeof RAW_FILES, string][]) {
    const path = join(trialDir, name);
    const content = await readFile(path, "utf8").catch(() => null);
    if (content === null) continue;
    text[source] = content;
    raw[source] = relative(bundleDir, path);
  }
  const records = {
    strace: text.strace === undefined ? [] : parseStraceText(text.strace),
    probe: parseProbeText(text.probe ?? ""),
    runtime: parseProbeText(text.runtime ?? ""),
  };
  const event = (ev: string) => records.runtime.find((r): r is ProbeEvent => r.kind === "probe" && r.ev === ev);
  const trial = event("trial");
  const driver = event("driver");
  if (!trial || !driver || typeof driver.fields.execNs !== "string") throw new Error(`${trialDir}: runtime.jsonl lacks its trial or driver event`);
  const originUs = nsTextToUs(driver.fields.execNs);
  return {
    id: String(trial.fields.id),
    variant: Variant.parse(trial.fields.variant),
    request: TrialRequest.parse(trial.fields.request),
    raw,
    originUs,
    records,
    timeline: buildTimeline(originUs, records),
  };
}

/** Every trial under a bundle's raw/, in trial-id order. */
export async function loadRawTrials(bundleDir: string): Promise<TrialEvidence[]> {
  const trials: TrialEvidence[] = [];
  for (const variant of (await readdir(join(bundleDir, "raw"))).sort()) {
    for (const id of (await readdir(join(bundleDir, "raw", variant))).sort()) {
      trials.push(await loadTrialEvidence(bundleDir, join(bundleDir, "raw", variant, id)));
    }
  }
  return trials.sort((a, b) => a.id.localeCompare(b.id));
}
