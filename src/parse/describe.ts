import type { ProbeRecord, StraceRecord } from "./records.js";

// One-line renderings of records, shared by findings, the CLI and (later) the replay TUI.

export function describeStrace(r: StraceRecord): string {
  const who = r.pid === null ? "" : `[${r.pid}] `;
  switch (r.kind) {
    case "syscall": {
      const ret = r.ret === null ? "<unfinished>" : r.ret;
      const err = r.errno ? ` ${r.errno}${r.errnoText ? ` (${r.errnoText})` : ""}` : "";
      const note = r.retNote ? ` ${r.retNote}` : "";
      return `${who}${r.syscall}(${r.args.join(", ")}) = ${ret}${err}${note}`;
    }
    case "signal":
      return `${who}--- ${r.signal} {${Object.entries(r.info).map(([k, v]) => `${k}=${v}`).join(", ")}} ---`;
    case "exit":
      return `${who}+++ exited with ${r.exitCode} +++`;
    case "killed":
      return `${who}+++ killed by ${r.signal}${r.coreDumped ? " (core dumped)" : ""} +++`;
    case "tracer":
      return `${who}${r.text}`;
    case "summary":
      return `${r.syscall ?? "total"}: ${r.calls} calls, ${r.errors} errors, ${r.totalUs} µs (${r.timePercent}%)`;
    case "unparsed":
      return `${who}? ${r.line}`;
  }
}

export function describeEvent(r: ProbeRecord): string {
  if (r.kind === "unparsed") return `? ${r.line}`;
  const fields = Object.entries(r.fields)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  return fields ? `${r.ev} ${fields}` : r.ev;
}
