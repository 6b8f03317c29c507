import { splitSnapshots } from "../evidence/go-runtime.js";
import type { Finding, TrialEvidence } from "../evidence/schemas.js";
import type { GdbRecord } from "../parse/gdb-records.js";
import type { KernelRecord } from "../parse/kernel-records.js";
import { nsTextToUs } from "../parse/probe.js";
import type { ProbeEvent } from "../parse/records.js";
import { signalName, signalNumber } from "../parse/signals.js";
import type { LoadedBundle } from "./read.js";
import { driverSends, variantName } from "./report-model.js";

// A bundle as Trace Event JSON (the format chrome://tracing and Perfetto's JSON importer
// read). Pure. Choices, so a reader knows what they look at:
//
// - Every trial is its own group of processes, named "t005 …", and all trials share one
//   clock: µs after their own exec. Trials therefore line up at the exec, which is what a
//   comparison of trials needs. Records from before the exec (strace attaching, the
//   kernel's clock marker) would be negative, so the whole trace is shifted by the same
//   `originTs` (in otherData); each trial's exec is an instant at that ts.
// - Host pids may repeat between trials, so pids and tids in the trace are small synthetic
//   numbers; the host's are in every process and thread name and in args.
// - A thread belongs to the process whose clone(CLONE_THREAD) it follows (strace); without
//   strace, a kernel fork whose child never execs is taken for a thread (Go starts threads
//   that way; an init forks and then execs the program).
// - Flows bind to slices, not instants: every point of a signal's path (the driver's
//   kill(2), signal_generate, signal_deliver, the handler) is a slice, 1 µs where the
//   kernel gives an instant, and the flow runs through them with bp "e".
// - Complete events on one thread must nest; where two observers' slices cross (strace's
//   syscall and the kernel's view of the same call), the later one is clipped to its
//   enclosing slice and says so in args.clippedFromUs.

export interface TraceEvent {
  name: string;
  ph: "X" | "i" | "M" | "s" | "t" | "f";
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  /** Instants: thread, process or global scope. */
  s?: "t" | "p" | "g";
  id?: number;
  bp?: "e";
  args?: Record<string, unknown>;
}

export interface PerfettoTrace {
  traceEvents: TraceEvent[];
  /** chrome://tracing shows ms by default, which rounds away the µs a race is made of. */
  displayTimeUnit: "ns";
  otherData: Record<string, string | number>;
}

/** si_code of a kill(2), as the driver sends: tells its signal_generate from a program's own tgkill re-raise. */
const SI_USER = 0;
/** Where a 1 µs slice stands for a kernel instant a flow must bind to. */
const ANCHOR_US = 1;
/**
 * How far from the driver's kill(2) its signal_generate may be stamped: the kernel's mono
 * stamps are mapped to CLOCK_REALTIME through markers, a few µs off either way, so a flow
 * may step back in time by that much.
 */
const SEND_SLACK_US = 1000;

export function bundleToPerfetto(bundle: LoadedBundle): PerfettoTrace {
  const trials = bundle.trials;
  const minUs = Math.min(0, ...trials.flatMap((t) => t.timeline.map((e) => e.atUs)));
  // Rounded up to whole ms, so the exec sits on a readable tick.
  const originTs = Math.ceil(-minUs / 1000) * 1000;
  const events: TraceEvent[] = [];
  const ids = { pid: 0, tid: 0, flow: 0 };
  trials.forEach((t, i) => convertTrial(t, i, originTs, events, ids));
  for (const f of bundle.findings.findings) events.push(findingEvent(f, originTs));
  return {
    traceEvents: nestSlices(events),
    displayTimeUnit: "ns",
    otherData: {
      tool: `forensics ${bundle.manifest.tool.version}`,
      runId: bundle.manifest.runId,
      scenario: bundle.manifest.scenario,
      originTs,
      clock: "µs after each trial's exec, plus originTs",
    },
  };
}

function findingEvent(f: Finding, originTs: number): TraceEvent {
  return {
    name: `${f.claim} ${f.verdict} (${variantName(f.variant)})`,
    ph: "i",
    s: "g",
    cat: "finding",
    ts: originTs,
    pid: 0,
    tid: 0,
    args: { claim: f.claim, statement: f.statement, verdict: f.verdict, summary: f.summary, evidence: f.evidence.map((e) => `${e.trial} ${e.source}#${e.index}: ${e.text}`), ...(f.measurements ? { measurements: f.measurements } : {}) },
  };
}

interface Ids {
  pid: number;
  tid: number;
  flow: number;
}

/** One trial: its processes and threads, its records as events, its signals' flows. */
function convertTrial(t: TrialEvidence, trialIndex: number, originTs: number, out: TraceEvent[], ids: Ids): void {
  const ts = (us: number) => us - t.originUs + originTs;
  const runtime = t.records.runtime.filter((r): r is ProbeEvent => r.kind === "probe");
  const probe = t.records.probe.filter((r): r is ProbeEvent => r.kind === "probe");
  const strace = t.records.strace ?? [];
  const kernel = t.records.kernel ?? [];
  const container = runtime.find((r) => r.ev === "container");
  const driver = runtime.find((r) => r.ev === "driver");
  const gatePid = typeof container?.fields.gatePid === "number" ? container.fields.gatePid : null;
  // Under an init the program is its child, whose pid only the driver may have learnt.
  const probePid = typeof driver?.fields.probePid === "number" ? driver.fields.probePid : t.variant.init === "none" ? gatePid : null;

  // ---- who is a process, who a thread of whom ----
  const owner = new Map<number, number>(); // host tid → host tgid
  const comm = new Map<number, string>();
  // clone() returns the child's id in the tracee's pid namespace, not the host tid strace
  // prefixes its lines with, so a new host tid is matched to the clone it follows: a
  // thread of the caller after clone(CLONE_THREAD), a process of its own after fork or
  // vfork or a clone without it (Go's threads, an init's child). In order of start: a clone
  // whose child ran before it returned comes out of the parser at its resumed line.
  const known = new Set<number>(gatePid === null ? [] : [gatePid]);
  const forked = new Set<number>();
  let lastClone: { caller: number; thread: boolean } | null = null;
  const byStart = strace.filter((r) => r.tsUs !== null).sort((a, b) => a.tsUs! - b.tsUs!);
  for (const r of byStart) {
    if (r.pid === null) continue;
    if (!known.has(r.pid)) {
      known.add(r.pid);
      if (r.kind === "syscall" && r.syscall === "execve") forked.add(r.pid);
      else if (lastClone?.thread) owner.set(r.pid, lastClone.caller);
      // strace -p attaches every thread the gate (a Go program) already has.
      else if (lastClone === null && gatePid !== null) owner.set(r.pid, gatePid);
      else forked.add(r.pid);
    }
    if (r.kind === "syscall" && /^(clone3?|fork|vfork)$/.test(r.syscall)) lastClone = { caller: r.pid, thread: r.args.some((a) => a.includes("CLONE_THREAD")) };
  }
  const execd = new Set(kernel.flatMap((r) => (r.kind === "exec" ? [r.execPid] : [])));
  for (const r of kernel) {
    if (r.kind === "exec") comm.set(r.execPid, r.filename.split("/").pop()!);
    if (r.kind !== "fork") continue;
    if (!execd.has(r.childPid) && !forked.has(r.childPid)) owner.set(r.childPid, r.parentPid);
    comm.set(r.childPid, r.childComm);
  }
  for (const r of kernel) if (r.pid !== null && r.comm !== null && r.comm !== "<...>" && !comm.has(r.pid)) comm.set(r.pid, r.comm);
  for (const r of strace) {
    const path = r.kind === "syscall" && r.syscall === "execve" && r.ret === "0" ? /^"(.*)"$/.exec(r.args[0] ?? "") : null;
    if (path && r.pid !== null) comm.set(r.pid, path[1]!.split("/").pop()!);
  }
  // Without an observer that saw the exec, what the harness ran is known all the same: the
  // gate execs the init, or the program itself under --init none.
  const program = (container?.fields.target as { programName?: unknown } | undefined)?.programName;
  const programName = typeof program === "string" ? program : "probe";
  if (gatePid !== null && !comm.has(gatePid)) comm.set(gatePid, t.variant.init === "none" ? programName : t.variant.init);
  if (probePid !== null && !comm.has(probePid)) comm.set(probePid, programName);
  const tgidOf = (tid: number): number => {
    let at = tid;
    for (let hops = 0; owner.has(at) && hops < 64; hops++) at = owner.get(at)!;
    return at;
  };

  const label = `${t.id}`;
  const processes = new Map<number, number>();
  const threads = new Map<number, { pid: number; tid: number }>();
  const sortBase = trialIndex * 100;
  const processOf = (tgid: number): number => {
    let pid = processes.get(tgid);
    if (pid === undefined) {
      pid = ++ids.pid;
      processes.set(tgid, pid);
      const name = `${label} ${comm.get(tgid) ?? "process"} [host pid ${tgid}]`;
      out.push(meta("process_name", pid, 0, { name }), meta("process_sort_index", pid, 0, { sort_index: sortBase + processes.size }));
    }
    return pid;
  };
  const threadOf = (hostTid: number): { pid: number; tid: number } => {
    let th = threads.get(hostTid);
    if (th === undefined) {
      const tgid = tgidOf(hostTid);
      th = { pid: processOf(tgid), tid: ++ids.tid };
      threads.set(hostTid, th);
      out.push(meta("thread_name", th.pid, th.tid, { name: `${hostTid === tgid ? "main" : (comm.get(hostTid) ?? "thread")} [host tid ${hostTid}]` }));
    }
    return th;
  };
  // The harness's own view of the trial: driver, runtime.jsonl, observers' notes, gdb.
  const harnessPid = ++ids.pid;
  out.push(
    meta("process_name", harnessPid, 0, { name: `${label} harness: ${variantName(t.variant)}; observers ${t.request.observers.join("+") || "none"}; ${t.request.intent}` }),
    meta("process_sort_index", harnessPid, 0, { sort_index: sortBase }),
  );
  const harnessThreads = new Map<string, number>();
  const harness = (name: string): { pid: number; tid: number } => {
    let tid = harnessThreads.get(name);
    if (tid === undefined) {
      tid = ++ids.tid;
      harnessThreads.set(name, tid);
      out.push(meta("thread_name", harnessPid, tid, { name }));
    }
    return { pid: harnessPid, tid };
  };
  if (gatePid !== null) processOf(gatePid);
  out.push({ name: `${t.id} exec (origin: ${t.origin.source})`, ph: "i", s: "p", cat: "trial", ts: originTs, ...harness("runtime.jsonl"), args: { trial: t.id, originUs: t.originUs, originSource: t.origin.source } });

  const instant = (at: { pid: number; tid: number }, name: string, us: number, cat: string, args?: Record<string, unknown>): TraceEvent => ({ name, ph: "i", s: "t", cat, ts: ts(us), ...at, ...(args ? { args } : {}) });
  const slice = (at: { pid: number; tid: number }, name: string, us: number, dur: number, cat: string, args?: Record<string, unknown>): TraceEvent => ({ name, ph: "X", cat, ts: ts(us), dur: Math.max(0, dur), ...at, ...(args ? { args } : {}) });

  // ---- strace ----
  const lastUs = Math.max(t.originUs, ...t.timeline.map((e) => e.atUs + t.originUs));
  const straceSignal = new Map<number, TraceEvent>(); // record index → its anchor slice
  strace.forEach((r, index) => {
    if (r.tsUs === null) return;
    const at = r.pid === null ? harness("strace (no pid)") : threadOf(r.pid);
    const common = { source: "strace", index };
    switch (r.kind) {
      case "syscall": {
        const dur = r.durationUs ?? (r.unfinished ? lastUs - r.tsUs : 0);
        out.push(slice(at, r.syscall, r.tsUs, dur, "syscall", { ...common, args: r.args.join(", "), ret: r.ret, errno: r.errno, errnoText: r.errnoText, retNote: r.retNote, resumed: r.resumed, unfinished: r.unfinished, ...(r.unfinished ? { note: "never returned in the log: the slice runs to the trial's last record" } : {}) }));
        return;
      }
      case "signal": {
        const e = slice(at, `--- ${r.signal}`, r.tsUs, ANCHOR_US, "signal", { ...common, ...r.info });
        straceSignal.set(index, e);
        out.push(e);
        return;
      }
      case "exit":
        out.push(instant(at, `exited with ${r.exitCode}`, r.tsUs, "exit", { ...common, exitCode: r.exitCode }));
        return;
      case "killed":
        out.push(instant(at, `killed by ${r.signal}`, r.tsUs, "exit", { ...common, signal: r.signal, coreDumped: r.coreDumped }));
        return;
      case "tracer":
        out.push(instant(at, r.text, r.tsUs, "strace", common));
        return;
      case "unparsed":
        out.push(instant(at, "unparsed strace line", r.tsUs, "strace", { ...common, line: r.line, reason: r.reason }));
    }
  });

  // ---- kernel ----
  const generates: { r: Extract<KernelRecord, { kind: "signal-generate" }>; e: TraceEvent }[] = [];
  const delivers: { r: Extract<KernelRecord, { kind: "signal-deliver" }>; e: TraceEvent }[] = [];
  const handlers: { sig: number; us: number; e: TraceEvent }[] = [];
  const openCalls = new Map<number, { r: Extract<KernelRecord, { kind: "syscall-enter" }>; index: number }>();
  kernel.forEach((r, index) => {
    const common = { source: "kernel", index, line: r.line };
    if (r.tsUs === null) return;
    // Looked up only where used: a marker's or a sender's pid is no process of the trial.
    const actor = () => (r.pid === null ? harness("kernel observer") : threadOf(r.pid));
    switch (r.kind) {
      case "exec":
        out.push(instant(threadOf(r.execPid), `exec ${r.filename}`, r.tsUs, "exec", common));
        return;
      case "fork":
        out.push(instant(threadOf(r.parentPid), `fork → ${r.childPid}`, r.tsUs, "fork", { ...common, child: r.childPid, childComm: r.childComm }));
        return;
      case "exit":
        out.push(instant(threadOf(r.exitPid), r.groupDead ? "exit (last thread)" : "exit", r.tsUs, "exit", { ...common, groupDead: r.groupDead }));
        return;
      case "signal-generate": {
        // On the target it concerns; who sent it (driver, runc, the kernel) is in args.
        const e = slice(threadOf(r.targetPid), `signal_generate ${r.signal ?? r.sig}: ${r.resultName ?? r.result}`, r.tsUs, ANCHOR_US, "signal", {
          ...common,
          sender: `${r.comm ?? "?"} [host pid ${r.pid}]`,
          code: r.code,
          group: r.group,
          result: r.resultName ?? r.result,
          errno: r.errno,
        });
        generates.push({ r, e });
        out.push(e);
        return;
      }
      case "signal-deliver": {
        const e = slice(actor(), `signal_deliver ${r.signal ?? r.sig}`, r.tsUs, ANCHOR_US, "signal", { ...common, saHandler: r.saHandler, saFlags: r.saFlags, code: r.code });
        delivers.push({ r, e });
        out.push(e);
        return;
      }
      case "syscall-enter":
        if (r.pid !== null) openCalls.set(r.pid, { r, index });
        return;
      case "syscall-exit": {
        const open = r.pid === null ? undefined : openCalls.get(r.pid);
        if (open && open.r.syscall === r.syscall && open.r.tsUs !== null) {
          openCalls.delete(r.pid!);
          out.push(slice(actor(), r.syscall, open.r.tsUs, r.tsUs - open.r.tsUs, "syscall", { source: "kernel", index: open.index, exitIndex: index, args: open.r.args, ret: r.ret, line: open.r.line, exitLine: r.line }));
        } else out.push(instant(actor(), `${r.syscall} → ${r.ret}`, r.tsUs, "syscall", common));
        return;
      }
      case "uprobe": {
        const sig = typeof r.args.sig === "number" ? r.args.sig : null;
        if (r.fn === "runtime.sighandler" && sig !== null) {
          const e = slice(actor(), `${r.fn}(${signalName(sig) ?? sig})`, r.tsUs, ANCHOR_US, "uprobe", { ...common, ...r.args });
          handlers.push({ sig, us: r.tsUs, e });
          out.push(e);
        } else out.push(instant(actor(), r.fn ?? r.event, r.tsUs, "uprobe", { ...common, addr: r.addr, ...r.args }));
        return;
      }
      default:
        out.push(instant(harness("kernel observer"), r.kind === "lost" ? `lost ${r.lostEvents} events` : r.kind, r.tsUs, "kernel", common));
    }
  });
  // A call entered but never exited in the capture (the task died in it) keeps its entry.
  for (const { r, index } of openCalls.values()) out.push(instant(threadOf(r.pid!), `${r.syscall} (entered, never exited)`, r.tsUs!, "syscall", { source: "kernel", index, line: r.line, unfinished: true }));

  // ---- the program's and the harness's own reports ----
  const probeAt = probePid !== null ? threadOf(probePid) : harness("probe stdout");
  const probeSignals: { sig: number | null; us: number; e: TraceEvent }[] = [];
  probe.forEach((r, index) => {
    const args = { source: "probe", index, ...r.fields };
    if (r.ev === "signal") {
      const e = slice(probeAt, `probe: signal ${String(r.fields.name ?? "")}`, r.tsUs, ANCHOR_US, "probe", args);
      probeSignals.push({ sig: signalNumber(String(r.fields.name ?? "")), us: r.tsUs, e });
      out.push(e);
    } else out.push(instant(probeAt, `probe: ${r.ev}`, r.tsUs, "probe", args));
  });
  runtime.forEach((r, index) => {
    if (r.ev !== "driver") out.push(instant(harness("runtime.jsonl"), r.ev, r.tsUs, "runtime", { source: "runtime", index, ...r.fields }));
  });

  // ---- the driver's sends, and each signal's path as a flow ----
  const used = new Set<TraceEvent>();
  for (const s of driverSends(driver?.fields ?? {})) {
    const sig = s.sig;
    const sendUs = nsTextToUs(s.sendNs);
    const sentUs = s.sentNs === null ? sendUs : nsTextToUs(s.sentNs);
    const sendSlice = slice(harness("driver"), `kill(${signalName(sig) ?? sig})`, sendUs, Math.max(ANCHOR_US, sentUs - sendUs), "signal", { sig, sendNs: s.sendNs, sentNs: s.sentNs, ...(s.error ? { error: s.error } : {}) });
    out.push(sendSlice);
    const path: TraceEvent[] = [sendSlice];
    const gen = generates.find(({ r, e }) => !used.has(e) && r.sig === sig && r.code === SI_USER && Math.abs(r.tsUs! - sendUs) <= SEND_SLACK_US + sentUs - sendUs);
    const afterUs = gen ? gen.r.tsUs! : sendUs;
    if (gen) path.push(gen.e);
    const targetTgid = gen ? tgidOf(gen.r.targetPid) : probePid;
    const del = delivers.find(({ r, e }) => !used.has(e) && r.sig === sig && r.tsUs! >= afterUs && (targetTgid === null || tgidOf(r.pid!) === targetTgid));
    const seen = del ? null : strace.findIndex((r, i) => r.kind === "signal" && signalNumber(r.signal) === sig && r.tsUs !== null && r.tsUs >= sendUs && straceSignal.has(i) && !used.has(straceSignal.get(i)!));
    if (del) path.push(del.e);
    else if (seen !== null && seen >= 0) path.push(straceSignal.get(seen)!);
    const fromUs = del ? del.r.tsUs! : afterUs;
    const handled = handlers.find((h) => !used.has(h.e) && h.sig === sig && h.us >= fromUs) ?? probeSignals.find((p) => !used.has(p.e) && p.sig === sig && p.us >= fromUs);
    if (handled) path.push(handled.e);
    for (const e of path) used.add(e);
    if (path.length < 2) continue;
    const id = ++ids.flow;
    path.forEach((e, i) => {
      const ph = i === 0 ? "s" : i === path.length - 1 ? "f" : "t";
      out.push({ name: signalName(sig) ?? `signal ${sig}`, ph, cat: "signal-path", id, bp: "e", ts: e.ts!, pid: e.pid, tid: e.tid });
    });
  }

  // ---- gdb: the console prints no clock. A stop (breakpoint, signal) sits where the
  // harness noted its checkpoint in runtime.jsonl, the n-th stop at the n-th note, when
  // their counts agree; anything else, and the runtime snapshots of a plain attach, at the
  // trial's last record. Each says where it was placed and why in args.
  const gdb = t.records.gdb ?? [];
  const checkpoints = runtime.filter((r) => r.ev === "checkpoint");
  const stops = gdb.flatMap((r, index) => (r.kind === "breakpoint-hit" || r.kind === "signal-stop" ? [index] : []));
  const atCheckpoints = stops.length > 0 && stops.length === checkpoints.length;
  const atEnd = "at the trial's last record: gdb prints no clock";
  stops.forEach((index, n) => {
    const r = gdb[index]!;
    const readings = snapshotArgs(gdb.slice(index + 1, stops[n + 1] ?? gdb.length));
    const us = atCheckpoints ? checkpoints[n]!.tsUs : lastUs;
    const placed = atCheckpoints ? "when the harness noted this checkpoint (runtime.jsonl), just after gdb stopped" : atEnd;
    const name = r.kind === "breakpoint-hit" ? `gdb stop: ${r.func ?? `breakpoint ${r.breakpoint ?? "?"}`}` : `gdb stop: ${r.kind === "signal-stop" ? r.signal : r.kind}`;
    out.push(instant(harness("gdb"), name, us, "gdb", { placed, source: "gdb", index, ...r, ...readings }));
  });
  splitSnapshots(gdb).forEach((snapshot, n) => out.push(instant(harness("gdb"), `gdb snapshot ${n + 1}`, lastUs, "gdb", { placed: atEnd, ...snapshotArgs(snapshot) })));
  gdb.forEach((r, index) => {
    if (GDB_EVENTS.has(r.kind)) out.push(instant(harness("gdb"), `gdb ${r.kind}`, lastUs, "gdb", { placed: atEnd, source: "gdb", index, ...r }));
  });
}

/** gdb records that are events of the target rather than answers to a read. */
const GDB_EVENTS = new Set<GdbRecord["kind"]>(["exited", "error"]);

/** What gdb read in a snapshot or at a stop, for args: values by expression, threads, registers, backtraces. */
function snapshotArgs(records: readonly GdbRecord[]): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const r of records) {
    if (r.kind === "value") args[r.expr ?? `$${r.history ?? "?"}`] = r.value;
    else if (r.kind === "backtrace") args[`backtrace (thread ${r.thread ?? "?"})`] = r.frames.map((f) => `#${f.n} ${f.func ?? "??"}${f.file ? ` ${f.file}:${f.line ?? "?"}` : ""}${f.signalFrame ? " <signal handler called>" : ""}`);
    else if (r.kind === "threads") args.threads = r.threads.map((th) => `${th.id} lwp ${th.lwp ?? "?"} ${th.frame}`);
    else if (r.kind === "registers") args[`registers (thread ${r.thread ?? "?"})`] = r.registers;
  }
  return args;
}

const meta = (name: string, pid: number, tid: number, args: Record<string, unknown>): TraceEvent => ({ name, ph: "M", pid, tid, args });

/**
 * Makes the complete events of every thread nest: sorted by start (longer first on a tie),
 * a slice that starts inside another and ends after it is clipped to the other's end.
 */
export function nestSlices(events: TraceEvent[]): TraceEvent[] {
  const byThread = new Map<string, TraceEvent[]>();
  for (const e of events) {
    if (e.ph !== "X") continue;
    const key = `${e.pid}:${e.tid}`;
    if (!byThread.has(key)) byThread.set(key, []);
    byThread.get(key)!.push(e);
  }
  for (const slices of byThread.values()) {
    slices.sort((a, b) => a.ts! - b.ts! || b.dur! - a.dur!);
    const open: number[] = [];
    for (const e of slices) {
      while (open.length > 0 && open[open.length - 1]! <= e.ts!) open.pop();
      const end = open[open.length - 1];
      if (end !== undefined && e.ts! + e.dur! > end) {
        e.args = { ...e.args, clippedFromUs: e.dur };
        e.dur = end - e.ts!;
      }
      open.push(e.ts! + e.dur!);
    }
  }
  return events;
}
