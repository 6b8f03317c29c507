import { observerSetKey, type ObserverName } from "../../src/capture/observer.js";
import { readGoRuntime, splitSnapshots, type StackRegion } from "../../src/evidence/go-runtime.js";
import type { RecordRef, TrialEvidence } from "../../src/evidence/schemas.js";
import type { GdbRecord } from "../../src/parse/gdb-records.js";
import { parseGdbText } from "../../src/parse/gdb.js";
import { compact, findEvent, observerRef } from "../shared/records.js";
import { describeMapping, mappingOf, parseMaps, parseProcSyscall, type Mapping } from "./proc.js";

// One init-stack trial read from its records: the gdb snapshot taken while a Go thread sat
// in runtime.sighandler after `kill -CHLD 1` (per-thread $rsp and the stacks that hold it),
// the init's /proc state and gdb view (runtime.jsonl notes of the raw captures), and, in a
// strace trial, every sigaltstack call and what the init did with SIGCHLD.

export interface ThreadStack {
  lwp: number | null;
  rsp: string | null;
  inStack: StackRegion;
  goid: number | null;
  /** The thread that hit the breakpoint in runtime.sighandler. */
  handling: boolean;
}

export interface InitPosition {
  pid: number;
  comm: string | null;
  /** $rsp at its syscall entry (/proc/PID/syscall), or from gdb. */
  rsp: string | null;
  /** The mapping of its own /proc/PID/maps that holds rsp ("[stack] 0x…-0x… rw-p"). */
  mapping: string | null;
  pc: string | null;
  pcMapping: string | null;
  /** The syscall it waits in (rt_sigtimedwait for tini and dumb-init's sigwait). */
  syscall: string | null;
  /** Its backtrace as gdb printed it (functions, innermost first); null without gdb. */
  frames: string[] | null;
  /** Whether rsp also falls inside any mapping of the Go program's address space (it is a different one). */
  rspMappedInProgram: string | null;
}

export interface AltStack {
  pid: number | null;
  ssSp: string;
  ssSize: number | null;
}

export interface InitStackTrial {
  trial: string;
  observers: string;
  programPid: number | null;
  pid1: number | null;
  /** Whether gdb stopped the program in the breakpoint (null: no gdb in this trial). */
  inHandler: boolean | null;
  threads: ThreadStack[];
  handlerFrames: string[];
  init: InitPosition | null;
  /** The program's [stack] mapping and whether its maps hold the init's binary (they should not). */
  programStack: string | null;
  programMapsInitBinary: boolean | null;
  /** strace: the program's sigaltstack calls that installed a stack (ss_sp ≠ NULL). */
  altStacks: AltStack[] | null;
  /** strace: how the init took SIGCHLD: dequeued by rt_sigtimedwait, run in a handler, or not seen. */
  initSigchld: "sigtimedwait" | "handler" | "not-seen" | "untraced" | null;
  programAliveAfter: boolean | null;
  problems: string[];
  refs: {
    breakpoint: RecordRef | null;
    sigchld: RecordRef | null;
    initState: RecordRef | null;
    programState: RecordRef | null;
    initGdb: RecordRef | null;
    after: RecordRef | null;
    threads: RecordRef[];
    altStacks: RecordRef[];
    initSigchld: RecordRef[];
  };
}

export function analyseInitStackTrial(trial: TrialEvidence): InitStackTrial {
  const gdb = trial.records.gdb;
  const program = findEvent(trial, "runtime", "program");
  const programPid = typeof program?.record.fields.pid === "number" ? program.record.fields.pid : null;
  const pid1 = typeof program?.record.fields.pid1 === "number" ? program.record.fields.pid1 : null;
  const breakpoint = findEvent(trial, "runtime", "breakpoint");
  const checkpoint = findEvent(trial, "runtime", "checkpoint");
  const problems = ((checkpoint?.record.fields.problems as string[] | undefined) ?? []).map(String);

  // Threads, from the last snapshot in gdb.log; the handling thread from the breakpoint hit.
  const threadRefs: RecordRef[] = [];
  let threads: ThreadStack[] = [];
  let handlerFrames: string[] = [];
  if (gdb) {
    const hit = gdb.findIndex((r) => r.kind === "breakpoint-hit");
    const handlingThread = hit >= 0 ? (gdb[hit] as Extract<GdbRecord, { kind: "breakpoint-hit" }>).thread : null;
    if (hit >= 0) threadRefs.push(observerRef(trial, "gdb", hit));
    const snapshots = splitSnapshots(gdb);
    const reading = snapshots.length ? readGoRuntime(snapshots.at(-1)!) : null;
    if (reading?.kind === "read") {
      threads = reading.threads.map((t) => ({ lwp: t.lwp, rsp: t.rsp, inStack: t.on, goid: t.goid, handling: t.thread === handlingThread }));
      if (reading.problems.length) problems.push(...reading.problems.map((p) => `gdb: ${p}`));
    } else if (reading?.kind === "no-dwarf") problems.push(reading.reason);
    gdb.forEach((r, i) => {
      if (r.kind === "registers" && r.registers.rsp !== undefined) threadRefs.push(observerRef(trial, "gdb", i));
      if (r.kind === "value" && r.expr !== null && /^\$gp->(?:stack|m->g0->stack|m->gsignal->stack)$/.test(r.expr)) threadRefs.push(observerRef(trial, "gdb", i));
      if (r.kind === "backtrace" && r.thread === handlingThread) {
        handlerFrames = r.frames.map((f) => f.func ?? "??");
        threadRefs.push(observerRef(trial, "gdb", i));
      }
    });
  }

  const initState = findEvent(trial, "runtime", "init-state");
  const programState = findEvent(trial, "runtime", "program-state");
  const initGdb = findEvent(trial, "runtime", "init-gdb");
  const initMaps = parseMaps(String(initState?.record.fields.maps ?? ""));
  const programMaps = parseMaps(String(programState?.record.fields.maps ?? ""));
  const init = initState ? readInit(initState.record.fields, initMaps, programMaps, initGdb ? String(initGdb.record.fields.text ?? "") : null) : null;
  const initBinary = initMaps.find((m) => m.name.startsWith("/") && m.perms.includes("x"))?.name ?? null;

  const strace = trial.records.strace;
  const altStacks: AltStack[] | null = strace ? [] : null;
  const altRefs: RecordRef[] = [];
  const sigchldRefs: RecordRef[] = [];
  let initSigchld: InitStackTrial["initSigchld"] = strace ? "not-seen" : null;
  const sigchldNote = findEvent(trial, "runtime", "sigchld");
  strace?.forEach((r, i) => {
    if (r.kind === "syscall" && r.syscall === "sigaltstack" && r.pid !== pid1) {
      const m = /ss_sp=(0x[0-9a-f]+)[^}]*ss_size=(\d+)/.exec(r.args[0] ?? "");
      if (m) {
        altStacks!.push({ pid: r.pid, ssSp: m[1]!, ssSize: Number(m[2]) });
        altRefs.push(observerRef(trial, "strace", i));
      }
    }
    // A syscall record is stamped at its start; what it returned happened at its end.
    const endUs = r.tsUs === null ? null : r.tsUs + (r.kind === "syscall" ? (r.durationUs ?? 0) : 0);
    if (pid1 === null || r.pid !== pid1 || (sigchldNote && endUs !== null && endUs < sigchldNote.record.tsUs)) return;
    if (r.kind === "signal" && r.signal === "SIGCHLD") {
      initSigchld = "handler";
      sigchldRefs.push(observerRef(trial, "strace", i));
    }
    if (r.kind === "syscall" && r.syscall === "rt_sigtimedwait" && (/SIGCHLD/.test(r.retNote ?? "") || /si_signo=SIGCHLD/.test(r.args[1] ?? "")) && initSigchld === "not-seen") {
      initSigchld = "sigtimedwait";
      sigchldRefs.push(observerRef(trial, "strace", i));
    }
  });

  // docker-init is the gate's parent: strace, attached to the gate, never traces it.
  if (strace && initSigchld === "not-seen" && !strace.some((r) => r.pid === pid1)) initSigchld = "untraced";
  const after = findEvent(trial, "runtime", "after");
  return {
    trial: trial.id,
    observers: observerSetKey(trial.request.observers as ObserverName[]),
    programPid,
    pid1,
    inHandler: gdb ? breakpoint?.record.fields.outcome === "hit" : null,
    threads,
    handlerFrames,
    init,
    programStack: describeMapping(programMaps.find((m) => m.name === "[stack]") ?? null),
    programMapsInitBinary: programMaps.length && initBinary ? programMaps.some((m) => m.name === initBinary) : null,
    altStacks,
    initSigchld,
    programAliveAfter: typeof after?.record.fields.alive === "boolean" ? after.record.fields.alive : null,
    problems,
    refs: {
      breakpoint: breakpoint?.ref ?? null,
      sigchld: sigchldNote?.ref ?? null,
      initState: initState?.ref ?? null,
      programState: programState?.ref ?? null,
      initGdb: initGdb?.ref ?? null,
      after: after?.ref ?? null,
      threads: compact(threadRefs),
      altStacks: altRefs,
      initSigchld: sigchldRefs,
    },
  };
}

function readInit(fields: Record<string, unknown>, initMaps: Mapping[], programMaps: Mapping[], gdbText: string | null): InitPosition {
  const sc = parseProcSyscall(String(fields.syscall ?? ""));
  let frames: string[] | null = null;
  let gdbRsp: string | null = null;
  if (gdbText !== null) {
    const records = parseGdbText(gdbText);
    const bt = records.find((r): r is Extract<GdbRecord, { kind: "backtrace" }> => r.kind === "backtrace");
    frames = bt ? bt.frames.map((f) => f.func ?? f.addr ?? "??") : null;
    const regs = records.find((r): r is Extract<GdbRecord, { kind: "registers" }> => r.kind === "registers");
    gdbRsp = regs?.registers.rsp ?? null;
  }
  // /proc's sp is taken at the syscall's entry; gdb's $rsp is the same while it waits there.
  const rsp = sc.sp ?? gdbRsp;
  return {
    pid: Number(fields.pid),
    comm: typeof fields.comm === "string" ? fields.comm : null,
    rsp,
    mapping: describeMapping(mappingOf(initMaps, rsp)),
    pc: sc.pc,
    pcMapping: describeMapping(mappingOf(initMaps, sc.pc)),
    syscall: sc.running ? "running" : sc.name,
    frames,
    rspMappedInProgram: describeMapping(mappingOf(programMaps, rsp)),
  };
}
