import type { ProbeRecord } from "./records.js";

// Probe protocol lines: {"t": <CLOCK_REALTIME ns>, "ev": "<name>", ...}. The stamp is cut
// from the text, not from JSON.parse, which would round epoch nanoseconds to 256 ns.
const STAMP = /^\{\s*"t"\s*:\s*"?(\d{10,20})"?\s*,/;

/** Exact µs from a decimal nanosecond string (truncated, as strace truncates to µs). */
export const nsTextToUs = (ns: string): number => Number(ns.slice(0, -3) || "0");

export function parseProbeLine(line: string): ProbeRecord {
  const stamp = STAMP.exec(line);
  if (!stamp) return { kind: "unparsed", line, reason: 'not a probe event: expected {"t": <ns>, "ev": …}' };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { kind: "unparsed", line, reason: "invalid JSON" };
  }
  if (typeof value !== "object" || value === null || typeof (value as { ev?: unknown }).ev !== "string") {
    return { kind: "unparsed", line, reason: 'missing "ev"' };
  }
  const { t: _t, ev, ...fields } = value as Record<string, unknown>;
  return { kind: "probe", tsUs: nsTextToUs(stamp[1]!), ev: ev as string, fields };
}

/** Every non-empty line becomes one record; nothing is dropped. */
export const parseProbeText = (text: string): ProbeRecord[] =>
  text.split("\n").filter((l) => l.trim() !== "").map(parseProbeLine);
