import { SOURCES, type AnyRecord } from "../evidence/facets.js";
import type { RecordSource } from "../evidence/schemas.js";
import { signalName, signalNameOf } from "./records.js";
import type { TrialIndex } from "./trial-index.js";

// Causality as a pure function of one trial's records. A signal's life, as each observer
// sees its part of it:
//   send        the driver's kill (runtime.jsonl `driver` sends), a traced kill/tgkill (strace)
//   generate    the kernel's signal_generate (in the sender's context), with its result
//   deliver     the kernel's signal_deliver / strace's `--- SIGTERM {…} ---` (ptrace stop)
//   handler     uprobe on runtime.sighandler, then runtime.sigsend, then os/signal.process
//   report      the probe's own `signal` event
//   forward     an init (tini, dumb-init) sending it on to its child: the chain continues there
//   exit        the target's exit or death (strace, kernel, probe, harness)
// Plus two structural links: an `<unfinished …>` call to its `<… resumed>` instant, and a
// clone/fork to the first record of its child.

export type Stage = "send" | "generate" | "deliver" | "handler" | "sigsend" | "notify" | "die" | "report" | "exit" | "resumed" | "child";

export interface CausalEvent {
  stage: Stage;
  source: RecordSource;
  index: number;
  /** µs from the trial's origin; for the driver's send, the send instant (not the record's stamp). */
  atUs: number;
  sig: string | null;
  /** Host pid that acted (sender, receiving thread, exiting task); null when unknown (probe events, the harness). */
  pid: number | null;
  /** For send/generate: the host pid aimed at, when known. */
  target: number | null;
  /** One line for the chain view. */
  label: string;
  /** A send that failed (ESRCH after the target died): shown where it is, never followed. */
  failed?: boolean;
}

export interface Hop extends CausalEvent {
  /** µs since the previous hop; null for the first. */
  latencyUs: number | null;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const nsToUs = (ns: unknown): number | null => (typeof ns === "string" && /^\d{4,}$/.test(ns) ? Number(ns.slice(0, -3)) : num(ns) !== null ? Math.trunc(num(ns)! / 1000) : null);
const sigOf = (v: unknown): string | null => (typeof v === "number" ? signalName(v) : typeof v === "string" ? v : null);

/** The causal events one record stands for (the driver's record may hold several sends). */
export function causalEventsOf(source: RecordSource, index: number, r: AnyRecord, originUs: number): CausalEvent[] {
  const at = (us: number | null): number | null => (us === null ? null : us - originUs);
  const base = { source, index };
  const pid = num(r.pid);
  const ts = num(r.tsUs);
  const ev = (stage: Stage, atUs: number | null, fields: Partial<CausalEvent> & { label: string }): CausalEvent[] =>
    atUs === null ? [] : [{ ...base, stage, atUs, sig: null, pid, target: null, ...fields }];
  switch (r.kind) {
    case "probe": {
      const f = (r.fields ?? {}) as Record<string, unknown>;
      const t = num(r.tsUs);
      if (source === "runtime" && r.ev === "driver") {
        const sends = Array.isArray(f.sends) && f.sends.length > 0 ? (f.sends as Record<string, unknown>[]) : [{ sig: f.signal, sendNs: f.sendNs }];
        const target = num(f.killPid);
        return sends.flatMap((s) => ev("send", at(nsToUs(s.sendNs)), { pid: null, target, sig: sigOf(s.sig), label: `driver kill(${target ?? "?"}, ${sigOf(s.sig) ?? "?"})` }));
      }
      if (source === "runtime" && r.ev === "deadline-kill") return ev("send", at(t), { pid: null, sig: sigOf(f.signal), label: `harness deadline kill ${sigOf(f.signal) ?? ""}` });
      if (source === "runtime" && r.ev === "exit") return ev("exit", at(t), { pid: null, label: `container exit code=${String(f.code)}${f.signal ? ` signal=${String(f.signal)}` : ""}` });
      if (source === "probe" && r.ev === "signal") return ev("report", at(t), { pid: null, sig: sigOf(f.name), label: `probe reports ${String(f.name)}` });
      if (source === "probe" && r.ev === "exit") return ev("exit", at(t), { pid: null, label: `probe exits code=${String(f.code)}` });
      return [];
    }
    case "syscall": {
      const sc = String(r.syscall);
      const args = (r.args ?? []) as string[];
      if (sc === "kill" || sc === "tkill" || sc === "tgkill") {
        const sig = signalNameOf(r);
        if (sig === "0" || sig === null) return [];
        // The pid argument is in the sender's pid namespace (a container's "6"), not the host's: no target.
        return ev("send", at(ts), { sig, target: null, failed: r.errno !== null, label: `[${pid}] ${sc}(${args.join(", ")}) = ${String(r.ret)}${r.errno ? ` ${String(r.errno)}` : ""}` });
      }
      // An init waiting in sigtimedwait (tini, dumb-init) takes the signal when the call returns it.
      if ((sc === "rt_sigtimedwait" || sc === "sigwaitinfo") && /^\d+$/.test(String(r.ret)) && ts !== null) {
        const sig = signalName(Number(r.ret));
        return ev("deliver", at(ts + (num(r.durationUs) ?? 0)), { sig, label: `[${pid}] ${sc} returns ${sig}` });
      }
      if (/^(clone3?|fork|vfork)$/.test(sc) && /^\d+$/.test(String(r.ret))) return ev("child", at(ts), { target: Number(r.ret), label: `[${pid}] ${sc} → child ${String(r.ret)}` });
      return [];
    }
    case "signal":
      return ev("deliver", at(ts), { sig: String(r.signal), label: `[${pid}] ptrace sees ${String(r.signal)} delivered` });
    case "killed":
      return ev("exit", at(ts), { sig: String(r.signal), label: `[${pid}] killed by ${String(r.signal)}` });
    case "exit":
      if (source === "kernel") {
        if (r.groupDead === false) return [];
        return ev("exit", at(ts), { pid: num(r.exitPid) ?? pid, label: `[${num(r.exitPid) ?? pid}] process exit (kernel)` });
      }
      return ev("exit", at(ts), { label: `[${pid}] exited with ${String(r.exitCode)}` });
    case "signal-generate":
      return ev("generate", at(ts), {
        sig: signalNameOf(r),
        target: num(r.targetPid),
        label: `[${pid}] signal_generate ${signalNameOf(r) ?? "?"} → ${String(r.targetPid)} (${String(r.resultName ?? r.result)})`,
      });
    case "signal-deliver":
      return ev("deliver", at(ts), { sig: signalNameOf(r), label: `[${pid}] signal_deliver ${signalNameOf(r) ?? "?"} handler=${String(r.saHandler)}` });
    case "fork":
      return ev("child", at(ts), { target: num(r.childPid), label: `[${pid}] fork → ${String(r.childPid)}` });
    case "uprobe": {
      const fn = `${String(r.fn ?? "")} ${String(r.event ?? "")}`;
      const sig = signalNameOf(r);
      const stage: Stage | null = /sighandler/.test(fn) ? "handler" : /sigsend/.test(fn) ? "sigsend" : /signal[._]process/.test(fn) ? "notify" : /dieFromSignal/.test(fn) ? "die" : null;
      return stage === null ? [] : ev(stage, at(ts), { sig, label: `[${pid}] ${String(r.fn ?? r.event)}(${sig ?? ""})` });
    }
    default:
      return [];
  }
}

// Which records can be causal events, by their timeline kind (and syscall): the rest, most
// of a trace (futex, nanosleep…), are never read. Untimed records have no row and no event.
const CAUSAL_KINDS = new Set(["signal", "killed", "exit", "signal-generate", "signal-deliver", "fork", "uprobe"]);
const CAUSAL_SYSCALLS = /^(kill|tkill|tgkill|clone3?|fork|vfork|rt_sigtimedwait|sigwaitinfo)$/;

/** The records whose timeline kind label and syscall pass `test`, in source then record order. */
function recordsWhere(ix: TrialIndex, test: (source: RecordSource, kind: string, syscall: string) => boolean): { source: RecordSource; index: number; r: AnyRecord }[] {
  // The test runs once per distinct (source, kind, syscall), not once per row of a million.
  const memo = SOURCES.map(() => new Map<number, boolean>());
  const picked: number[] = [];
  for (let i = 0; i < ix.n; i++) {
    const s = ix.source[i]!;
    const key = ix.kind[i]! * 0x10000 + ix.syscall[i]!;
    let ok = memo[s]!.get(key);
    if (ok === undefined) memo[s]!.set(key, (ok = test(SOURCES[s]!, ix.kinds[ix.kind[i]!] ?? "", ix.syscalls[ix.syscall[i]!] ?? "")));
    if (ok) picked.push(i);
  }
  picked.sort((a, b) => ix.source[a]! - ix.source[b]! || ix.record[a]! - ix.record[b]!);
  return picked.flatMap((i) => {
    const source = SOURCES[ix.source[i]!]!;
    const r = ix.trial.record(source, ix.record[i]!);
    return r ? [{ source, index: ix.record[i]!, r }] : [];
  });
}

/** Every causal event of a trial, in time order (computed once per trial by the caller). */
export function causalEvents(ix: TrialIndex): CausalEvent[] {
  const rows = recordsWhere(ix, (source, kind, syscall) => (kind === "syscall" ? CAUSAL_SYSCALLS.test(syscall) : CAUSAL_KINDS.has(kind) || ((source === "probe" || source === "runtime") && /^(event|harness):/.test(kind))));
  return rows.flatMap(({ source, index, r }) => causalEventsOf(source, index, r, ix.trial.originUs)).sort((a, b) => a.atUs - b.atUs);
}

/** Threads and processes: which pids are threads of which (kernel forks not followed by an exec; strace clones with CLONE_THREAD). */
export function threadGroups(ix: TrialIndex): Map<number, number> {
  const leader = new Map<number, number>();
  const kernel = recordsWhere(ix, (source, kind) => source === "kernel" && (kind === "exec" || kind === "fork")).map((x) => x.r);
  const execd = new Set(kernel.filter((r) => r.kind === "exec").map((r) => num(r.execPid)));
  for (const r of kernel) if (r.kind === "fork" && !execd.has(num(r.childPid))) leader.set(num(r.childPid)!, num(r.parentPid)!);
  for (const { r } of recordsWhere(ix, (source, _kind, syscall) => source === "strace" && /^clone3?$/.test(syscall))) {
    if (r.kind === "syscall" && Array.isArray(r.args) && (r.args as string[]).some((a) => a.includes("CLONE_THREAD")) && /^\d+$/.test(String(r.ret ?? "")) && num(r.pid) !== null) leader.set(Number(r.ret), num(r.pid)!);
  }
  const root = (p: number): number => {
    let q = p;
    for (let i = 0; i < 64 && leader.has(q); i++) q = leader.get(q)!;
    return q;
  };
  const out = new Map<number, number>();
  for (const p of leader.keys()) out.set(p, root(p));
  return out;
}

const ORDER: Stage[] = ["send", "generate", "deliver", "handler", "sigsend", "notify", "die", "report"];

/**
 * The chain through the record (source, index): for a signal, from its send to the exit;
 * for a resumed call, the call and its resume; for a clone/fork, the call and the child's
 * first record. Empty when the record is part of no chain.
 */
export function causalChain(ix: TrialIndex, source: RecordSource, index: number, events: CausalEvent[] = causalEvents(ix), groups: Map<number, number> = threadGroups(ix)): Hop[] {
  const trial = ix.trial;
  const r = trial.record(source, index);
  if (!r) return [];
  const mine = causalEventsOf(source, index, r, trial.originUs);
  // A call that is itself a signal moment (tini's rt_sigtimedwait, a resumed kill) is in its signal's chain.
  const signalled = mine.some((e) => e.sig !== null);
  if (!signalled && r.kind === "syscall" && r.resumed === true && num(r.tsUs) !== null && num(r.durationUs) !== null) {
    const at = num(r.tsUs)! - trial.originUs;
    const hop: CausalEvent = { stage: "resumed", source, index, atUs: at + num(r.durationUs)!, sig: null, pid: num(r.pid), target: null, label: `[${String(r.pid)}] <… ${String(r.syscall)} resumed> = ${String(r.ret)}` };
    return withLatency([{ ...hop, stage: "send", atUs: at, label: `[${String(r.pid)}] ${String(r.syscall)}(…) <unfinished …>` }, hop]).map((h, i) => (i === 0 ? { ...h, stage: "resumed" } : h));
  }
  const child = mine.find((e) => e.stage === "child");
  if (child && child.target !== null) {
    const first = events.find((e) => e.pid === child.target && e.atUs >= child.atUs);
    const firstRow = first ?? firstRecordOfPid(ix, child.target, child.atUs);
    return withLatency(firstRow ? [child, firstRow] : [child]);
  }
  const start = mine.find((e) => e.sig !== null || e.stage === "exit");
  if (!start) return [];
  const group = (p: number | null): number | null => (p === null ? null : groups.get(p) ?? p);

  // The episode's root: the latest send (or generate) of this signal at or before the start
  // (for an exit, of whichever signal was sent last before it); then back through forwards
  // (an init sending on what it got) and from a generate to the send that caused it.
  const before = (at: CausalEvent, pred: (e: CausalEvent) => boolean): CausalEvent | null => {
    let found: CausalEvent | null = null;
    for (const e of events) {
      if (e.atUs > at.atUs) break;
      if (!(e.source === at.source && e.index === at.index) && pred(e)) found = e;
    }
    return found;
  };
  const isSend = (e: CausalEvent) => e.stage === "send" || e.stage === "generate";
  let root: CausalEvent = isSend(start) ? start : (before(start, (e) => isSend(e) && (start.sig === null || e.sig === start.sig)) ?? start);
  for (let guard = 0; guard < 8; guard++) {
    const sigOfRoot = root.sig;
    const r0 = root;
    const cause =
      (r0.stage === "generate" ? before(r0, (e) => e.stage === "send" && e.sig === sigOfRoot && !e.failed && (e.target === null || r0.target === null || e.target === r0.target) && r0.atUs - e.atUs < 1_000_000) : null) ??
      (r0.pid !== null ? before(r0, (e) => isSend(e) && e.sig === sigOfRoot && e.target !== null && group(e.target) === group(r0.pid)) : null);
    if (!cause) break;
    root = cause;
  }
  const sig = root.sig;
  if (sig === null) return withLatency([start]);
  const exited = new Set<RecordSource>();
  const hops: CausalEvent[] = [root];
  let target = root.target;
  let stage = ORDER.indexOf(root.stage);
  const same = (e: CausalEvent) => e.source === root.source && e.index === root.index && e.atUs === root.atUs;
  for (const e of events) {
    if (e.atUs < root.atUs || same(e) || hops.length > 24) continue;
    if (e.stage === "exit") {
      if (!exited.has(e.source) && (target === null || e.pid === null || group(e.pid) === group(target))) {
        hops.push(e);
        exited.add(e.source);
      }
      if (e.source === "runtime") break;
      continue;
    }
    if (e.sig !== sig) continue;
    const order = ORDER.indexOf(e.stage);
    const inTarget = target === null || e.pid === null || group(e.pid) === group(target);
    if (e.stage === "generate" && stage <= ORDER.indexOf("generate") && (target === null || e.target === target || e.target === null)) {
      hops.push(e);
      target = e.target ?? target;
      stage = order;
    } else if ((e.stage === "send" || e.stage === "generate") && !e.failed && exited.size === 0 && stage >= ORDER.indexOf("generate") && target !== null && e.pid !== null && group(e.pid) === group(target)) {
      // Forwarded: the receiver (an init) sends it on; the chain follows it to its new target.
      const self = e.target !== null && group(e.target) === group(target);
      hops.push({ ...e, label: `${e.label} (${self ? "re-raised" : "forwarded"})` });
      target = e.stage === "generate" ? e.target : null;
      stage = order;
    } else if (order > ORDER.indexOf("generate") && inTarget && (order > stage || (order === stage && e.source !== hops[hops.length - 1]!.source))) {
      if (target === null && e.pid !== null && e.stage === "deliver") target = e.pid;
      hops.push(e);
      stage = order;
    }
  }
  return withLatency(hops);
}

function firstRecordOfPid(ix: TrialIndex, pid: number, fromUs: number): CausalEvent | null {
  for (let i = 0; i < ix.n; i++) {
    if (ix.pid[i] !== pid || ix.atUs[i]! < fromUs) continue;
    return { stage: "child", source: SOURCES[ix.source[i]!]!, index: ix.record[i]!, atUs: ix.atUs[i]!, sig: null, pid, target: null, label: `[${pid}] first record: ${ix.text(i)}` };
  }
  return null;
}

function withLatency(events: CausalEvent[]): Hop[] {
  return events.map((e, i) => ({ ...e, latencyUs: i === 0 ? null : e.atUs - events[i - 1]!.atUs }));
}
