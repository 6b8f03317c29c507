import { HarnessError } from "../errors.js";
import { GdbRecord } from "../parse/gdb-records.js";
import { parseGdbText } from "../parse/gdb.js";
import { attachGdb, type GdbSession } from "./gdb-session.js";
import type { Attachment, Observer, ObserverTarget } from "./observer.js";
import { resolveTool } from "./tools.js";

// gdb as an observer. Unlike strace and the kernel it does not watch continuously: it
// stops the target at the checkpoints a scenario names and reads runtime state there. So
// by default nothing attaches before the release (ptrace would change what is measured);
// the scenario's first checkpoint attaches. A scenario that needs gdb from the first
// instruction (to follow the gate's execve into the program) asks for attachAtRelease.

export const GDB_LOG = "gdb.log";

export interface GdbObserverOptions {
  /** Attach to the gate before it releases and let it run under gdb; default: attach at the first checkpoint. */
  attachAtRelease?: boolean;
}

export interface GdbAttachment extends Attachment<GdbRecord> {
  /**
   * The trial's gdb session, attached now if it is not yet: to pid, default the gate's
   * (the program once the gate has exec'd). One session per trial, one gdb.log.
   */
  session(pid?: number): Promise<GdbSession>;
}

export interface GdbObserver extends Observer<GdbRecord> {
  attach(target: ObserverTarget): Promise<GdbAttachment>;
}

export function createGdbObserver(options: GdbObserverOptions = {}): GdbObserver {
  return {
    name: "gdb",
    summary: "gdb (ptrace, through node-pty): stops the target at the scenario's checkpoints and reads Go runtime state",
    rawFiles: [GDB_LOG],
    record: GdbRecord,
    needs: async () => {
      await resolveTool("gdb");
    },
    attach: (target) => attachGdbObserver(target, options),
    parse: (raw) => (raw[GDB_LOG] === undefined ? [] : parseGdbText(raw[GDB_LOG])),
    describe: describeGdbRecord,
    // The console prints no clock; checkpoints are placed on the timeline by the scenario.
    timeUs: () => null,
    pid: (r) => (r.kind === "breakpoint-hit" || r.kind === "thread-event" ? r.lwp : r.kind === "exited" ? r.pid : null),
  };
}

async function attachGdbObserver(target: ObserverTarget, options: GdbObserverOptions): Promise<GdbAttachment> {
  const logPath = `${target.dir}/${GDB_LOG}`;
  let session: Promise<GdbSession> | null = null;
  let attachedPid: number | null = null;
  const open = (pid: number): Promise<GdbSession> => {
    if (session !== null && attachedPid !== pid) {
      return Promise.reject(new HarnessError("USAGE", `trial ${target.trialId}: gdb is attached to PID ${attachedPid}, not ${pid}; one gdb session per trial`));
    }
    attachedPid = pid;
    session ??= attachGdb(pid, { logPath });
    return session;
  };
  if (options.attachAtRelease === true) {
    const s = await open(target.gatePid);
    // The gate must run to its release and execve; gdb follows the exec and loads the program's symbols.
    await s.resume();
  }
  return {
    describe: () => ({ observer: "gdb", attachAtRelease: options.attachAtRelease === true, pid: attachedPid, log: GDB_LOG }),
    session: (pid = target.gatePid) => open(pid),
    detach: async () => {
      if (session !== null) await (await session.catch(() => null))?.detach();
    },
  };
}

/** One line per record, for the timeline, findings and the TUI. */
export function describeGdbRecord(r: GdbRecord): string {
  switch (r.kind) {
    case "threads":
      return `gdb: ${r.threads.length} threads`;
    case "registers":
      return `gdb: thread ${r.thread ?? "?"} ${Object.entries(r.registers)
        .slice(0, 4)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ")}`;
    case "value":
      return `gdb: ${r.expr ?? `$${r.history}`} = ${JSON.stringify(r.value).slice(0, 120)}`;
    case "backtrace":
      return `gdb: thread ${r.thread ?? "?"} backtrace, ${r.frames.length} frames, top ${r.frames[0]?.func ?? "??"}`;
    case "breakpoint-hit":
      return `gdb: thread ${r.thread ?? "?"} hit breakpoint ${r.breakpoint ?? "?"} in ${r.func ?? "??"}`;
    case "signal-stop":
      return `gdb: thread ${r.thread ?? "?"} stopped by ${r.signal}`;
    case "thread-event":
      return `gdb: LWP ${r.lwp ?? "?"} ${r.event}`;
    case "exited":
      return `gdb: target${r.pid === null ? "" : ` ${r.pid}`} ${r.signal === null ? `exited with ${r.exitCode}` : `killed by ${r.signal}`}`;
    case "error":
      return `gdb refused ${r.command ?? "a command"}: ${r.text}`;
    case "warning":
    case "note":
      return `gdb: ${r.text.split("\n")[0]}`;
    case "command":
      return `(gdb) ${r.command}`;
    case "unparsed":
      return `gdb (unparsed, ${r.reason}): ${r.text}`;
  }
}
