// Times and text as the replay prints them.

/** µs as a signed, human duration: +163µs, -12.345ms, +1.004894s. */
export function formatUs(us: number, signed = true): string {
  const sign = us < 0 ? "-" : signed ? "+" : "";
  const a = Math.abs(us);
  if (a < 1000) return `${sign}${Math.round(a)}µs`;
  if (a < 1_000_000) return `${sign}${(a / 1000).toFixed(3)}ms`;
  return `${sign}${(a / 1_000_000).toFixed(6)}s`;
}

/**
 * Captured bytes made safe for one terminal cell each: C0/C1 controls, DEL, escape
 * sequences and characters whose width is not one cell become visible escapes, so a
 * hostile record can neither move the cursor nor break the layout.
 */
export function escapeText(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c === 0x09) out += "\\t";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0)) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else if (c < 0x300 || (c >= 0x370 && c < 0x1100) || (c >= 0x2010 && c < 0x2e80 && !(c >= 0x200b && c <= 0x200f))) out += ch;
    else out += `\\u{${c.toString(16)}}`;
  }
  return out;
}

/** Cuts or pads to exactly `width` cells (the text must already be escaped). */
export function fit(s: string, width: number): string {
  if (width <= 0) return "";
  if (s.length > width) return width === 1 ? "…" : `${s.slice(0, width - 1)}…`;
  return s.padEnd(width);
}
