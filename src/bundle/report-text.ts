// Text helpers the report renderers share: a report quotes captured bytes, which may hold
// anything a program printed, so every renderer escapes the same way.

/**
 * Control characters (tab excepted), DEL, C1 controls and the bidirectional overrides that
 * can make a line read differently from what it holds ("Trojan Source"), as \xNN / \u{N}.
 * Everything printable, UTF-8 included, stays as captured.
 */
export function escapeNonPrintable(s: string): string {
  return s.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, (c) => {
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
  });
}

/** "+604769 µs" / "-12 µs": exact, as evidence is stamped; no rounding in a bug report. */
export const formatAtUs = (us: number | null): string => (us === null ? "no clock" : `${us >= 0 ? "+" : ""}${us} µs`);

/** "850 µs", "12.3 ms", "1.20 s": for axes and summaries, where a reader wants magnitude. */
export function formatSpan(us: number): string {
  const a = Math.abs(us);
  if (a < 1000) return `${us} µs`;
  if (a < 1_000_000) return `${(us / 1000).toFixed(a < 10_000 ? 2 : 1)} ms`;
  return `${(us / 1_000_000).toFixed(2)} s`;
}
