import type { AnyRecord } from "../evidence/facets.js";
import { signalName as parseSignalName, signalNumber } from "../parse/signals.js";

// The replay reads records of every observer through these few accessors, so a record kind
// it has never seen (a newer observer's) still shows: its fields, its time, its raw line.
// Kernel kinds (signal-generate, signal-deliver, exec, fork, exit, uprobe, syscall-enter/exit)
// follow src/parse/kernel-records.ts on the kernel branch; gdb records are shown generically.
// Facets (kind, syscall, errno, failure/signal/exit) are src/evidence/facets.ts's.

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** Signal name a record is about (SIGTERM), from whichever field its observer uses. */
export function signalNameOf(r: AnyRecord): string | null {
  if (r.kind === "signal" || r.kind === "killed") return str(r.signal);
  if (r.kind === "signal-generate" || r.kind === "signal-deliver") return str(r.signal) ?? (num(r.sig) !== null ? signalName(num(r.sig)!) : null);
  if (r.kind === "syscall") {
    const s = (r.args as string[] | undefined)?.find((a) => /^SIG[A-Z0-9+]+$/.test(a));
    return s ?? null;
  }
  if (r.kind === "uprobe") {
    const sig = num((r.args as Record<string, unknown> | undefined)?.sig);
    return sig === null ? null : signalName(sig);
  }
  if (r.kind === "probe") {
    const f = (r.fields ?? {}) as Record<string, unknown>;
    if (typeof f.name === "string") return f.name;
    if (typeof f.signal === "number") return signalName(f.signal);
    if (typeof f.signal === "string") return f.signal;
  }
  return null;
}

/** The name strace and the kernel parser use (parse/signals.ts), or "signal N" outside 1..64. */
export const signalName = (n: number): string => parseSignalName(n) ?? `signal ${n}`;

/** The raw line as captured when the record carries it (kernel records, unparsed lines). */
export function rawLineOf(r: AnyRecord): string | null {
  return str(r.line);
}

/** A record's own fields, for the detail pane, in its schema's order, without the bulky ones. */
export function fieldsOf(r: AnyRecord): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(r)) {
    if (k === "line" && r.kind !== "unparsed" && r.kind !== "invalid") continue;
    if (k === "fields" && typeof v === "object" && v !== null) {
      for (const [fk, fv] of Object.entries(v)) out.push([`.${fk}`, typeof fv === "string" ? fv : JSON.stringify(fv)]);
      continue;
    }
    out.push([k, typeof v === "string" ? v : JSON.stringify(v)]);
  }
  return out;
}

/** A decoded reading of a printed syscall argument, where one helps: signal numbers, signal sets. */
export function decodeArg(role: string | undefined, value: string): string | null {
  if (role === "signal") {
    const n = /^\d+$/.test(value) ? Number(value) : signalNumber(value);
    return n === null ? null : `signal ${n} = ${signalName(n)}`;
  }
  if (role === "sigset") {
    const m = /^(~)?\[(.*)\]$/.exec(value.trim());
    if (!m) return null;
    const names = m[2]!.split(/\s+/).filter(Boolean);
    const what = names.length === 0 ? "no signal" : names.map((n) => (n.startsWith("SIG") ? n : `SIG${n}`)).join(", ");
    return m[1] ? `every signal except ${what}` : `{${what}}`;
  }
  if (role === "fd") {
    const m = /^(-?\d+)<(.*)>$/.exec(value);
    return m ? `fd ${m[1]} → ${m[2]}` : null;
  }
  return null;
}
