import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { ObserverName } from "../capture/observer.js";
import { OBSERVERS } from "../capture/observers.js";
import { parseProbeText } from "../parse/probe.js";
import type { ProbeEvent } from "../parse/records.js";
import { findOrigin } from "./origin.js";
import { TrialRequest, Variant, type TrialEvidence } from "./schemas.js";
import { buildTimeline } from "./timeline.js";

/** The harness's own raw files in every trial dir; observers name theirs (Observer.rawFiles). */
export const RAW_FILES = { probe: "probe.jsonl", runtime: "runtime.jsonl" } as const;

/**
 * Rebuilds a trial's evidence from its raw directory alone: runtime.jsonl opens with a
 * `trial` event (id, variant, request) and holds the container's gate PID and the driver's
 * instants; every observer's capture is parsed by that observer's own pure parser.
 * Evidence is therefore always re-derivable from what was captured.
 */
export async function loadTrialEvidence(bundleDir: string, trialDir: string): Promise<TrialEvidence> {
  const raw: Record<string, string> = {};
  const read = async (name: string): Promise<string | undefined> => {
    const path = join(trialDir, name);
    const content = await readFile(path, "utf8").catch(() => undefined);
    if (content !== undefined) raw[name] = relative(bundleDir, path);
    return content;
  };
  const probe = parseProbeText((await read(RAW_FILES.probe)) ?? "");
  const runtime = parseProbeText((await read(RAW_FILES.runtime)) ?? "");
  const event = (ev: string) => runtime.find((r): r is ProbeEvent => r.kind === "probe" && r.ev === ev);
  const trial = event("trial");
  if (!trial) throw new Error(`${trialDir}: runtime.jsonl lacks its trial event`);
  const request = upgradeRequest(trial.fields.request);

  const records: TrialEvidence["records"] & Record<string, unknown[]> = { probe, runtime };
  for (const name of request.observers as ObserverName[]) {
    const observer = OBSERVERS[name];
    if (!observer) throw new Error(`${trialDir}: the ${name} observer is unknown to this forensics`);
    const texts: Record<string, string> = {};
    for (const file of observer.rawFiles) {
      const text = await read(file);
      if (text !== undefined) texts[file] = text;
    }
    records[name] = observer.parse(texts);
  }

  const container = event("container");
  const gatePid = typeof container?.fields.gatePid === "number" ? container.fields.gatePid : null;
  const origin = findOrigin({ ...records, runtime: runtime.filter((r): r is ProbeEvent => r.kind === "probe") }, gatePid);
  if (!origin) throw new Error(`${trialDir}: no observer saw the gate's exec, and runtime.jsonl lacks the driver's`);
  return {
    id: String(trial.fields.id),
    variant: Variant.parse(trial.fields.variant),
    request,
    raw,
    originUs: origin.us,
    origin,
    records,
    timeline: buildTimeline(origin.us, records),
  };
}

/** Version 1 requests said `strace: true|false`; version 2 names the observer set. */
function upgradeRequest(value: unknown): TrialRequest {
  const v = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  if (!("observers" in v) && typeof v.strace === "boolean") {
    const { strace, ...rest } = v;
    return TrialRequest.parse({ ...rest, observers: strace ? ["strace"] : [] });
  }
  return TrialRequest.parse(v);
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
