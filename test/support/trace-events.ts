// The rules of the Trace Event format that chrome://tracing and Perfetto's JSON importer
// enforce or silently depend on (the "Trace Event Format" document, and Perfetto's
// json_trace_parser / json_trace_tokenizer): checked on a converted bundle so a trace that
// would import with dropped or misplaced events fails a test instead.

const PHASES = new Set(["X", "i", "I", "M", "s", "t", "f", "B", "E", "C", "b", "e", "n"]);
const META_NAMES = new Set(["process_name", "process_labels", "process_sort_index", "thread_name", "thread_sort_index"]);

export function traceProblems(doc: unknown): string[] {
  const problems: string[] = [];
  const bad = (i: number, why: string) => problems.push(`event ${i}: ${why}`);
  const events = (doc as { traceEvents?: unknown })?.traceEvents;
  if (!Array.isArray(events)) return ["no traceEvents array"];
  const slices = new Map<string, { ts: number; end: number; i: number }[]>();
  const flows = new Map<string, { ph: string; i: number }[]>();
  events.forEach((e: Record<string, unknown>, i) => {
    if (typeof e.name !== "string" || e.name === "") bad(i, "no name");
    if (typeof e.ph !== "string" || !PHASES.has(e.ph)) return bad(i, `unknown phase ${String(e.ph)}`);
    if (!Number.isInteger(e.pid) || !Number.isInteger(e.tid) || (e.pid as number) < 0 || (e.tid as number) < 0) bad(i, "pid and tid must be non-negative integers");
    if (e.ph === "M") {
      if (!META_NAMES.has(e.name as string)) bad(i, `unknown metadata ${String(e.name)}`);
      const args = e.args as Record<string, unknown> | undefined;
      if (String(e.name).endsWith("_name") && typeof args?.name !== "string") bad(i, "name metadata without args.name");
      if (String(e.name).endsWith("_sort_index") && !Number.isInteger(args?.sort_index)) bad(i, "sort index metadata without an integer args.sort_index");
      return;
    }
    // µs, as the format says; fractions are allowed, but this converter stamps whole µs.
    if (typeof e.ts !== "number" || !Number.isInteger(e.ts) || e.ts < 0) bad(i, `ts must be a non-negative whole number of µs, got ${String(e.ts)}`);
    if (e.args !== undefined && (typeof e.args !== "object" || e.args === null || Array.isArray(e.args))) bad(i, "args must be an object");
    if (e.ph === "X") {
      if (typeof e.dur !== "number" || !Number.isInteger(e.dur) || e.dur < 0) return bad(i, `a complete event needs a non-negative dur, got ${String(e.dur)}`);
      const key = `${e.pid}:${e.tid}`;
      if (!slices.has(key)) slices.set(key, []);
      slices.get(key)!.push({ ts: e.ts as number, end: (e.ts as number) + e.dur, i });
    }
    if (e.ph === "i" || e.ph === "I") {
      if (e.s !== undefined && !["t", "p", "g"].includes(e.s as string)) bad(i, `instant scope must be t, p or g, got ${String(e.s)}`);
    }
    if (e.ph === "s" || e.ph === "t" || e.ph === "f") {
      if (e.id === undefined) bad(i, "flow event without id");
      if (typeof e.cat !== "string") bad(i, "flow event without cat (flows match on cat and id)");
      if (e.ph === "f" && e.bp !== "e") bad(i, "flow end without bp:e binds to the next slice, not the enclosing one");
      const key = `${String(e.cat)}:${String(e.id)}`;
      if (!flows.has(key)) flows.set(key, []);
      flows.get(key)!.push({ ph: e.ph, i });
      // Flows bind to the slice enclosing them on their thread: there must be one.
      const on = events.some((x: Record<string, unknown>) => x.ph === "X" && x.pid === e.pid && x.tid === e.tid && (x.ts as number) <= (e.ts as number) && (e.ts as number) <= (x.ts as number) + (x.dur as number));
      if (!on) bad(i, `flow ${key} step has no enclosing slice on pid ${String(e.pid)} tid ${String(e.tid)} at ${String(e.ts)}`);
    }
  });
  for (const [key, list] of slices) {
    const sorted = [...list].sort((a, b) => a.ts - b.ts || b.end - a.end);
    const open: { end: number; i: number }[] = [];
    for (const s of sorted) {
      while (open.length > 0 && open[open.length - 1]!.end <= s.ts) open.pop();
      const top = open[open.length - 1];
      if (top && s.end > top.end) problems.push(`event ${s.i}: slice [${s.ts}, ${s.end}] on ${key} overlaps event ${top.i} ending at ${top.end} without nesting`);
      open.push(s);
    }
  }
  for (const [key, list] of flows) {
    const phases = list.map((f) => f.ph).join("");
    if (!/^st*f$/.test(phases)) problems.push(`flow ${key}: phases ${phases}, expected s, any t, then f`);
  }
  return problems;
}
