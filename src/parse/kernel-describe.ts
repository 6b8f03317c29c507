import type { KernelRecord } from "./kernel-records.js";
import { kernelNumber } from "./kernel.js";
import { signalName } from "./signals.js";

// One line per kernel record for the timeline, findings and the TUI, and the counts
// `forensics parse kernel` prints. Pure.

export function describeKernelRecord(r: KernelRecord): string {
  switch (r.kind) {
    case "header":
      return `kernel capture: instance ${String(r.info.instance ?? "?")}, clock ${String(r.info.clock ?? "?")}`;
    case "exec":
      return `exec ${r.filename} (pid ${r.execPid}${r.oldPid !== r.execPid ? `, was thread ${r.oldPid}` : ""})`;
    case "fork":
      return `fork pid ${r.parentPid} (${r.parentComm}) → ${r.childPid}`;
    case "exit":
      return `exit pid ${r.exitPid} (${r.exitComm})${r.groupDead === true ? ", last thread" : ""}`;
    case "signal-generate":
      return `signal_generate ${r.signal ?? `signal ${r.sig}`} → pid ${r.targetPid} (${r.targetComm}): ${r.resultName ?? `result ${r.result}`}`;
    case "signal-deliver":
      return `signal_deliver ${r.signal ?? `signal ${r.sig}`} in pid ${r.pid}: ${describeHandler(r.saHandler)}`;
    case "syscall-enter": {
      const args = Object.entries(r.args).map(([k, v]) => (k === "sig" ? `${signalName(kernelNumber(v) ?? 0) ?? v}` : `${k}: ${v}`));
      return `${r.syscall}(${args.join(", ")}) in pid ${r.pid}`;
    }
    case "syscall-exit":
      return `${r.syscall} → ${r.ret} in pid ${r.pid}`;
    case "uprobe": {
      const args = Object.entries(r.args).map(([k, v]) => (k === "sig" && typeof v === "number" ? `${signalName(v) ?? v}` : `${k}=${v}`));
      return `${r.fn ?? r.event}(${args.join(", ")}) in pid ${r.pid}`;
    }
    case "marker":
      return `marker: ${r.text}`;
    case "lost":
      return `lost ${r.lostEvents} events on CPU ${r.cpu}`;
    case "unparsed":
      return `unparsed: ${r.reason}`;
  }
}

const describeHandler = (h: string): string => (h === "0" ? "SIG_DFL" : h === "1" ? "SIG_IGN" : `handler 0x${h}`);

/** What `forensics parse kernel` counts. */
export interface KernelSummary {
  records: number;
  /** "SIGTERM delivered" → count. */
  generated: Map<string, number>;
  /** "SIGTERM" → count. */
  delivered: Map<string, number>;
  exits: number;
  /** rt_sigaction calls that set a disposition (act ≠ NULL: a handler, or SIG_DFL/SIG_IGN), by signal. */
  sigactionSets: Map<string, number>;
  /** Go handlers installed, from the runtime.setsig uprobe (fn ≠ SIG_DFL/SIG_IGN), by signal. */
  goHandlerInstalls: Map<string, number>;
  /** "runtime.sighandler" → hits. */
  uprobeHits: Map<string, number>;
  lostEvents: number;
  unparsed: number;
}

export function createKernelSummary(): { add(r: KernelRecord): void; result(): KernelSummary } {
  const s: KernelSummary = {
    records: 0,
    generated: new Map(),
    delivered: new Map(),
    exits: 0,
    sigactionSets: new Map(),
    goHandlerInstalls: new Map(),
    uprobeHits: new Map(),
    lostEvents: 0,
    unparsed: 0,
  };
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  return {
    add(r) {
      s.records++;
      if (r.kind === "signal-generate") bump(s.generated, `${r.signal ?? r.sig} ${r.resultName ?? `result ${r.result}`}`);
      else if (r.kind === "signal-deliver") bump(s.delivered, r.signal ?? String(r.sig));
      else if (r.kind === "exit") s.exits++;
      else if (r.kind === "syscall-enter" && r.syscall === "rt_sigaction" && r.args.act !== undefined && kernelNumber(r.args.act) !== 0) {
        const sig = kernelNumber(r.args.sig ?? "");
        bump(s.sigactionSets, sig === null ? String(r.args.sig) : (signalName(sig) ?? String(sig)));
      } else if (r.kind === "uprobe") {
        bump(s.uprobeHits, r.fn ?? r.event);
        const { sig, handler } = r.args;
        if (r.fn === "runtime.setsig" && typeof sig === "number" && typeof handler === "string" && kernelNumber(handler)! > 1) {
          bump(s.goHandlerInstalls, signalName(sig) ?? String(sig));
        }
      }
      else if (r.kind === "lost") s.lostEvents += r.lostEvents;
      else if (r.kind === "unparsed") s.unparsed++;
    },
    result: () => s,
  };
}
