import { observerSetKey, type ObserverName } from "../../src/capture/observer.js";
import type { RecordRef, TrialEvidence } from "../../src/evidence/schemas.js";
import { describeEvent, describeStrace } from "../../src/parse/describe.js";
import { firstKillFate } from "../../src/evidence/kernel-signals.js";
import { describeKernelRecord } from "../../src/parse/kernel-describe.js";
import type { KernelRecord, SignalResultName } from "../../src/parse/kernel-records.js";
import { nsTextToUs } from "../../src/parse/probe.js";
import type { ProbeEvent, ProbeRecord, StraceRecord, SyscallRecord } from "../../src/parse/records.js";
import { readKernelRace } from "./kernel-view.js";
import type { SigtermRequest } from "./request.js";

const SIGTERM = 15;

// The SIGTERM race of one trial, read from its records. Three phases, each bounded by
// something the trial itself measured:
//   exec ──► Go's runtime installs its SIGTERM handler ──► the program calls signal.Notify
// strace gives the handler instant exactly (the probe's rt_sigaction(SIGTERM, {sa_handler=0x…})
// after its execve); without strace the driver's samples of SigCgt in /proc/PID/status bound it.

export type Phase = "before-handler" | "before-notify" | "after-notify" | "after-handler" | "boundary";
export type Outcome = "lost" | "runtime-default" | "handled";

export interface RaceTrial {
  trial: string;
  /** The observer set's name (none, strace, kernel, strace+kernel…). */
  observers: string;
  strace: boolean;
  intent: string;
  /** The offset the sweep asked the driver for (µs after the driver's own exec instant). */
  requestedOffsetUs: number;
  /**
   * How late the driver saw the exec, against the trial's origin: its offsets count from
   * then, so aiming at an instant after the origin asks for that instant minus the lag.
   */
  driverLagUs: number;
  /** µs after the exec at which the signal went out (start of the kill(2) call). */
  sentUs: number;
  /** µs after the exec by which the handler was in place; null if never seen. */
  handlerUs: number | null;
  handlerSource: "kernel" | "strace" | "sigcgt" | null;
  notifyUs: number | null;
  /** The kernel's result for the driver's SIGTERM to PID 1; null when the kernel observer did not run. */
  signalFate: SignalResultName | null;
  /**
   * Where a lost SIGTERM went, as the kernel saw it: `kernel` (it ignored the signal: PID 1
   * with SIG_DFL), `pid1-handler` (delivered to a handler of PID 1 that never passed it on,
   * e.g. dumb-init's do-nothing handler before its sigwait loop), `child-before-exec`
   * (forwarded to the init's child while that child still ran the init's inherited handler,
   * before it exec'd the program: measured with dumb-init), `forward-failed` (PID 1 took it
   * and its kill(2) to pass it on failed: dumb-init's kill(-child) to a process group the child
   * had not made yet, ESRCH); null when not lost or unseen.
   */
  lostBy: "kernel" | "pid1-handler" | "child-before-exec" | "forward-failed" | null;
  /** With lostBy `forward-failed`: the errno of PID 1's kill(2), e.g. ESRCH (or `errno N`). */
  forwardErrno: string | null;
  /** What PID 1 did to prepare for SIGTERM when it is an init; null without strace or init. */
  init: InitPreparation | null;
  phase: Phase;
  outcome: Outcome;
  /** PID 1's exit status as the runtime reported it. */
  exitCode: number | null;
  signal: string | null;
  /** How the probe process itself ended, when a record shows it. */
  probeEnd: { kind: "exited"; code: number; ref: RecordRef } | { kind: "killed"; signal: string; ref: RecordRef } | null;
  refs: {
    send: RecordRef;
    handler: RecordRef | null;
    notify: RecordRef | null;
    /** The kernel's signal_generate of the driver's SIGTERM, with its result. */
    fate: RecordRef | null;
    delivery: RecordRef | null;
    handled: RecordRef | null;
    deadlineKill: RecordRef | null;
    /** The kernel record beside `fate` that shows where a lost SIGTERM went (see lostBy); an ignored one needs none. */
    lost: RecordRef | null;
    exit: RecordRef | null;
    /** The runtime's fallback path in strace: tgkill of itself, SIG_DFL, exit_group. */
    fallback: RecordRef[];
  };
}

export function analyseRaceTrial(trial: TrialEvidence): RaceTrial {
  const runtimeRef = (ev: string) => findEvent(trial, "runtime", ev);
  const driver = runtimeRef("driver");
  if (!driver) throw new Error(`trial ${trial.id} has no driver record`);
  const d = driver.record.fields as Record<string, string | number | undefined>;
  const us = (field: string) => (typeof d[field] === "string" ? nsTextToUs(d[field] as string) - trial.originUs : null);
  const sentUs = us("sendNs") ?? 0;
  const sentEndUs = us("sentNs") ?? sentUs;
  const strace = trial.records.strace ?? [];
  const kernel = trial.records.kernel ?? [];
  const container = runtimeRef("container")?.record.fields;
  const target = (container?.target ?? {}) as { kind?: string; programPath?: string };
  const programPath = target.programPath ?? "/probe";
  const pid1 = typeof container?.pid === "number" ? container.pid : null;

  // The handler instant, from the most exact observer that saw it: the kernel (no ptrace
  // stop in between), strace's rt_sigaction, or the driver's SigCgt samples (an upper bound).
  const probeExec = findProbeExec(strace, programPath);
  const straceHandler = probeExec ? findHandlerInstall(strace, probeExec.index) : null;
  const race = readKernelRace(kernel, programPath);
  let handlerUs: number | null = null;
  let handlerStartUs: number | null = null;
  let handlerSource: RaceTrial["handlerSource"] = null;
  let handlerRef: RecordRef | null = null;
  if (race.handler) {
    handlerUs = race.handler.doneUs - trial.originUs;
    handlerStartUs = race.handler.startUs - trial.originUs;
    handlerSource = "kernel";
    handlerRef = kernelRef(trial, race.handler.index);
  } else if (straceHandler) {
    const r = straceHandler.record;
    handlerUs = r.tsUs! + (r.durationUs ?? 0) - trial.originUs;
    handlerStartUs = r.tsUs! - trial.originUs;
    handlerSource = "strace";
    handlerRef = ref(trial, "strace", straceHandler.index, describeStrace(r));
  } else if (us("handlerSeenNs") !== null) {
    handlerUs = us("handlerSeenNs");
    handlerSource = "sigcgt";
    handlerRef = driver.ref;
  }

  // Our probe says when Notify returned; a user's program only shows it to the kernel's uprobe.
  const notify = findEvent(trial, "probe", "notify");
  const notifyUs = notify ? notify.record.tsUs - trial.originUs : race.notify ? race.notify.us - trial.originUs : null;
  const notifyRef = notify?.ref ?? (race.notify ? kernelRef(trial, race.notify.index) : null);
  const fate = pid1 === null ? null : firstKillFate(kernel, SIGTERM, pid1);
  const handled = findEvent(trial, "probe", "signal");
  const deadlineKill = runtimeRef("deadline-kill");
  const exit = runtimeRef("exit");
  const exitFields = exit?.record.fields ?? {};

  const probePid = probeExec?.record.pid ?? null;
  const deliveryIdx = strace.findIndex((r, i) => r.kind === "signal" && r.signal === "SIGTERM" && (probeExec === null || i > probeExec.index));
  const endIdx = probePid === null ? -1 : strace.findIndex((r) => (r.kind === "exit" || r.kind === "killed") && r.pid === probePid);
  const end = endIdx >= 0 ? strace[endIdx]! : null;
  const fallback = probePid === null || deliveryIdx < 0 ? [] : findFallback(trial, probePid, deliveryIdx);
  const fallbackCount = fallback.length;
  const probeEnd: RaceTrial["probeEnd"] =
    end?.kind === "exit"
      ? { kind: "exited", code: end.exitCode, ref: ref(trial, "strace", endIdx, describeStrace(end)) }
      : end?.kind === "killed"
        ? { kind: "killed", signal: end.signal, ref: ref(trial, "strace", endIdx, describeStrace(end)) }
        : null;

  const request = trial.request as SigtermRequest;
  const result: RaceTrial = {
    trial: trial.id,
    observers: observerSetKey(request.observers as ObserverName[]),
    strace: request.observers.includes("strace"),
    intent: request.intent,
    requestedOffsetUs: request.offsetUs,
    driverLagUs: Math.max(0, (us("execNs") ?? 0)),
    sentUs,
    handlerUs,
    handlerSource,
    notifyUs,
    signalFate: fate?.result ?? null,
    lostBy: null,
    forwardErrno: null,
    init: findInitPreparation(trial, probeExec?.record.pid ?? null),
    phase: notifyInProgress(classifyPhase(sentUs, sentEndUs, handlerUs, handlerStartUs ?? handlerUs, notifyUs, target.kind !== undefined && target.kind !== "probe"), handled !== null),
    outcome: classifyOutcome({ handled: handled !== null, ignored: fate?.result === "ignored", deadlineKill: deadlineKill !== null, userTarget: target.kind !== undefined && target.kind !== "probe", exit: exitFields, probeEnd, fallback: fallbackCount }),
    exitCode: typeof exitFields.code === "number" ? exitFields.code : null,
    signal: typeof exitFields.signal === "string" ? exitFields.signal : null,
    probeEnd,
    refs: {
      send: driver.ref,
      handler: handlerRef,
      notify: notifyRef,
      fate: fate ? kernelRef(trial, fate.index) : null,
      delivery: deliveryIdx >= 0 ? ref(trial, "strace", deliveryIdx, describeStrace(strace[deliveryIdx]!)) : null,
      handled: handled?.ref ?? null,
      deadlineKill: deadlineKill?.ref ?? null,
      lost: null,
      exit: exit?.ref ?? null,
      fallback,
    },
  };
  const lost = result.outcome === "lost" && pid1 !== null && fate ? whereLost(kernel, fate, pid1, programPath) : null;
  if (lost) {
    result.lostBy = lost.by;
    result.forwardErrno = lost.errno;
    if (lost.index !== fate!.index) result.refs.lost = kernelRef(trial, lost.index);
  }
  return result;
}

/**
 * The probe reports Notify once it has returned, but Notify takes effect inside the call:
 * a SIGTERM the program handled yet sent before that report landed while Notify was
 * taking effect, on neither side of it.
 */
const notifyInProgress = (phase: Phase, handled: boolean): Phase => (phase === "before-notify" && handled ? "boundary" : phase);

/**
 * Where the kernel shows a lost SIGTERM went, and the record that shows it: ignored, into a
 * handler that did not pass it on, or into a forward that failed.
 */
function whereLost(
  kernel: KernelRecord[],
  fate: { index: number; result: SignalResultName | null },
  pid1: number,
  programPath: string,
): { by: NonNullable<RaceTrial["lostBy"]>; index: number; errno: string | null } | null {
  if (fate.result === "ignored") return { by: "kernel", index: fate.index, errno: null };
  // The kernel's two captures follow each other in `kernel`: "after" is by stamp.
  const at = kernel[fate.index]!.tsUs ?? -Infinity;
  const after = kernel.filter((r) => r.tsUs !== null && r.tsUs >= at).sort((a, b) => a.tsUs! - b.tsUs!);
  const indexOf = (r: KernelRecord | undefined): number => (r === undefined ? -1 : kernel.indexOf(r));
  // A signal sent to a process is delivered on whichever of its threads dequeues it (a Go
  // program has several): a delivery counts for pid on pid itself or a task forked below it.
  const below = (pid: number): Set<number> => {
    const tasks = new Set([pid]);
    for (const r of kernel) if (r.kind === "fork" && tasks.has(r.parentPid)) tasks.add(r.childPid);
    return tasks;
  };
  const caught = (pid: number) => {
    const tasks = below(pid);
    return after.findIndex((r) => r.kind === "signal-deliver" && r.pid !== null && tasks.has(r.pid) && r.sig === SIGTERM && Number.parseInt(r.saHandler, 16) > 1);
  };
  const forward = after.find((r): r is Extract<KernelRecord, { kind: "signal-generate" }> => r.kind === "signal-generate" && r.sig === SIGTERM && r.pid === pid1 && r.targetPid !== pid1);
  if (!forward) {
    const kept = caught(pid1);
    if (kept >= 0) return { by: "pid1-handler", index: indexOf(after[kept]), errno: null };
    const failed = failedKill(after, pid1);
    return failed ? { by: "forward-failed", index: indexOf(failed.record), errno: failed.errno } : null;
  }
  // The child got it while still running the init's code: its exec of the program comes after.
  const delivered = caught(forward.targetPid);
  const exec = after.findIndex((r) => r.kind === "exec" && r.execPid === forward.targetPid && r.filename === programPath);
  return delivered >= 0 && exec > delivered ? { by: "child-before-exec", index: indexOf(after[delivered]), errno: null } : null;
}

/** PID 1's kill(2) of SIGTERM that failed: the record of its return (`sys_kill -> 0xfff…fd`) and the errno's name. */
function failedKill(after: KernelRecord[], pid1: number): { record: KernelRecord; errno: string } | null {
  let calling = false;
  for (const r of after) {
    if (r.pid !== pid1) continue;
    if (r.kind === "syscall-enter" && r.syscall === "kill") calling = Number(r.args.sig) === SIGTERM;
    else if (calling && r.kind === "syscall-exit" && r.syscall === "kill") {
      const ret = signedWord(r.ret);
      if (ret < 0) return { record: r, errno: errnoName(-ret) };
      calling = false;
    }
  }
  return null;
}

const ERRNO_NAMES: Record<number, string> = { 1: "EPERM", 3: "ESRCH", 22: "EINVAL" };
const errnoName = (n: number): string => ERRNO_NAMES[n] ?? `errno ${n}`;

/** A register as tracefs prints it (`0xfffffffffffffffd`), read as the signed 64-bit value it holds. */
const signedWord = (hex: string): number => (/^0x[0-9a-f]{1,16}$/i.test(hex) ? Number(BigInt.asIntN(64, BigInt(hex))) : NaN);

/**
 * Lost: the kernel said it ignored the signal, or the program was still running when the
 * settle time ran out. Handled: our probe reported its Notify path ran; a user's program
 * has no such report, so there it is a clean exit that neither died by the signal nor went
 * through Go's re-raise (dieFromSignal in strace). Everything else is the runtime's default.
 */
function classifyOutcome(t: {
  handled: boolean;
  ignored: boolean;
  deadlineKill: boolean;
  userTarget: boolean;
  exit: Record<string, unknown>;
  probeEnd: RaceTrial["probeEnd"];
  fallback: number;
}): Outcome {
  if (t.handled) return "handled";
  if (t.ignored || t.deadlineKill) return "lost";
  const killed = typeof t.exit.signal === "string" || t.probeEnd?.kind === "killed";
  if (t.userTarget && !killed && t.fallback === 0 && t.exit.code === 0) return "handled";
  return "runtime-default";
}

/** Where a send landed: handlerStartUs is when the install call began, handlerUs when it was done; a send that overlaps the call itself cannot be put on either side. */
export function classifyPhase(sentUs: number, sentEndUs: number, handlerUs: number | null, handlerStartUs: number | null, notifyUs: number | null, notifyUnseen = false): Phase {
  if (handlerUs === null || sentEndUs < (handlerStartUs ?? handlerUs)) return "before-handler";
  if (sentUs < handlerUs) return "boundary";
  // A user's program whose Notify no observer saw: after the handler is all that is known.
  if (notifyUs === null && notifyUnseen) return "after-handler";
  if (notifyUs === null || sentUs < notifyUs) return "before-notify";
  return "after-notify";
}

function findProbeExec(strace: StraceRecord[], programPath: string): { index: number; record: SyscallRecord } | null {
  // The last successful execve of the program: under an init it is exec'd by a child.
  const quoted = JSON.stringify(programPath);
  for (let i = strace.length - 1; i >= 0; i--) {
    const r = strace[i]!;
    if (r.kind === "syscall" && r.syscall === "execve" && r.ret === "0" && r.args[0] === quoted) return { index: i, record: r };
  }
  return null;
}

const kernelRef = (trial: TrialEvidence, index: number): RecordRef => ref(trial, "kernel", index, describeKernelRecord(trial.records.kernel![index]!));

function findHandlerInstall(strace: StraceRecord[], after: number): { index: number; record: SyscallRecord } | null {
  const pid = strace[after]!.pid;
  for (let i = after + 1; i < strace.length; i++) {
    const r = strace[i]!;
    if (r.kind === "syscall" && r.pid === pid && r.syscall === "rt_sigaction" && r.args[0] === "SIGTERM" && /^\{sa_handler=0x/.test(r.args[1] ?? "") && r.ret === "0" && r.tsUs !== null) {
      return { index: i, record: r };
    }
  }
  return null;
}

export interface InitPreparation {
  /** µs after the exec by which the init had blocked SIGTERM; null if it never did. */
  blockedUs: number | null;
  /** µs after the exec by which it had a SIGTERM handler of its own; null if it never did. */
  handlerUs: number | null;
}

/**
 * Inits take SIGTERM by blocking it and collecting it with sigtimedwait (tini) or sigwait
 * (dumb-init, which also installs a do-nothing handler). Until one of those, the init is a
 * PID 1 with SIG_DFL, which the kernel's SIGNAL_UNKILLABLE rule makes drop SIGTERM.
 */
function findInitPreparation(trial: TrialEvidence, probePid: number | null): InitPreparation | null {
  const container = findEvent(trial, "runtime", "container");
  const pid1 = typeof container?.record.fields.pid === "number" ? container.record.fields.pid : null;
  const strace = trial.records.strace;
  if (pid1 === null || pid1 === probePid || !strace) return null;
  let execIdx = -1;
  strace.forEach((r, i) => {
    if (r.kind === "syscall" && r.pid === pid1 && r.syscall === "execve" && r.ret === "0") execIdx = i;
  });
  if (execIdx < 0) return null;
  const done = (r: SyscallRecord) => r.tsUs! + (r.durationUs ?? 0) - trial.originUs;
  const prep: InitPreparation = { blockedUs: null, handlerUs: null };
  for (let i = execIdx + 1; i < strace.length; i++) {
    const r = strace[i]!;
    if (r.kind !== "syscall" || r.pid !== pid1 || r.tsUs === null || r.ret !== "0") continue;
    if (prep.blockedUs === null && r.syscall === "rt_sigprocmask" && blocksSigterm(r.args[0], r.args[1])) prep.blockedUs = done(r);
    if (prep.handlerUs === null && r.syscall === "rt_sigaction" && r.args[0] === "SIGTERM" && /^\{sa_handler=0x/.test(r.args[1] ?? "")) prep.handlerUs = done(r);
  }
  return prep;
}

/** strace prints signal sets as [TERM INT] or as a complement ~[ILL TRAP]. */
function blocksSigterm(how: string | undefined, set: string | undefined): boolean {
  if ((how !== "SIG_BLOCK" && how !== "SIG_SETMASK") || !set) return false;
  const names = set.replace(/^~?\[|\]$/g, "").split(/\s+/);
  return set.startsWith("~[") ? !names.includes("TERM") : names.includes("TERM");
}

/** Go's dieFromSignal as strace shows it: re-raise (tgkill), SIG_DFL, raise again, exit. */
function findFallback(trial: TrialEvidence, pid: number, from: number): RecordRef[] {
  const refs: RecordRef[] = [];
  (trial.records.strace ?? []).forEach((r, i) => {
    if (i <= from || r.kind !== "syscall" || r.pid !== pid) return;
    const isRaise = (r.syscall === "tgkill" || r.syscall === "tkill" || r.syscall === "kill") && r.args.includes("SIGTERM");
    const isDfl = r.syscall === "rt_sigaction" && r.args[0] === "SIGTERM" && /sa_handler=SIG_DFL/.test(r.args[1] ?? "");
    if (isRaise || isDfl || r.syscall === "exit_group") refs.push(ref(trial, "strace", i, describeStrace(r)));
  });
  return refs;
}

function findEvent(trial: TrialEvidence, source: "probe" | "runtime", ev: string): { record: ProbeEvent; ref: RecordRef } | null {
  const records: ProbeRecord[] = trial.records[source];
  const index = records.findIndex((r) => r.kind === "probe" && r.ev === ev);
  if (index < 0) return null;
  const record = records[index] as ProbeEvent;
  return { record, ref: ref(trial, source, index, describeEvent(record)) };
}

const ref = (trial: TrialEvidence, source: RecordRef["source"], index: number, text: string): RecordRef => ({ trial: trial.id, source, index, text });
