// Which functions of a Go program's runtime the kernel observer probes, and how it reads
// their arguments. Go's register ABI (ABIInternal, Go ≥1.17) passes the first integer
// arguments in AX, BX, CX… on amd64 and R0, R1, R2… on arm64; a uprobe sits on the
// function's first instruction, before anything moved them.

import { fileOffsetOfAddress, findSymbols } from "../probe/elf.js";
import type { UprobeDefinition } from "./tracefs.js";

type Arch = "amd64" | "arm64";
/** Integer argument registers in order, as uprobe_events names them. */
const ARG_REGS: Record<Arch, readonly string[]> = { amd64: ["%ax", "%bx", "%cx"], arm64: ["%x0", "%x1", "%x2"] };

interface GoProbe {
  event: string;
  fn: string;
  /** Fetch args, with $0, $1… for the argument registers. */
  fetch: string[];
  /**
   * Probe after the function's stack-check prologue instead of at its first instruction:
   * when the stack must grow (runtime.morestack) or the goroutine is preempted there, the
   * function is entered again from the top, so an entry probe fires twice for one call.
   * Used where the probe counts calls. The argument registers are untouched by the prologue.
   */
  afterPrologue?: boolean;
}

export const GO_RUNTIME_PROBES: readonly GoProbe[] = [
  // runtime/signal_unix.go: sighandler(sig uint32, info *siginfo, ctxt unsafe.Pointer, gp *g) — every signal the runtime catches.
  { event: "sighandler", fn: "runtime.sighandler", fetch: ["sig=$0:u32"] },
  // runtime/sigqueue.go: sigsend(s uint32) bool — the handler queues it for os/signal.
  { event: "sigsend", fn: "runtime.sigsend", fetch: ["sig=$0:u32"], afterPrologue: true },
  // os/signal/signal.go: process(sig os.Signal) — the interface's data word (the 2nd
  // register) points at the syscall.Signal, an int.
  { event: "signal_process", fn: "os/signal.process", fetch: ["sig=+0($1):s32"], afterPrologue: true },
  // os/signal.Notify(c chan<- os.Signal, sig ...os.Signal): the slice is ptr, len, cap in $1..$3.
  { event: "signal_notify", fn: "os/signal.Notify", fetch: ["nsig=$2:s64"] },
  // runtime/signal_unix.go: dieFromSignal(sig uint32) — the default action, re-raised with SIG_DFL.
  { event: "dieFromSignal", fn: "runtime.dieFromSignal", fetch: ["sig=$0:u32"] },
  // runtime/os_linux.go: setsig(i uint32, fn uintptr) — every handler the runtime installs
  // (fn = sighandler) or resets (fn = 0, SIG_DFL): what rt_sigaction's pointer does not show.
  { event: "setsig", fn: "runtime.setsig", fetch: ["sig=$0:u32", "handler=$1:x64"] },
];

export interface PlannedUprobe extends UprobeDefinition {
  fn: string;
}

export interface UprobePlan {
  uprobes: PlannedUprobe[];
  /** Why some or all functions get no probe (stripped binary, symbol absent, unknown arch); null when all do. */
  note: string | null;
}

/** Pure: the binary's bytes → one uprobe per GO_RUNTIME_PROBES function its .symtab has. */
export function planGoUprobes(elf: Buffer, binary: string, group: string, arch: string): UprobePlan {
  const regs = ARG_REGS[arch as Arch];
  if (regs === undefined) return { uprobes: [], note: `no uprobes: Go's register ABI on ${arch} is not mapped here (amd64, arm64 are)` };
  const symbols = findSymbols(elf, GO_RUNTIME_PROBES.map((p) => p.fn));
  if (symbols.size === 0) return { uprobes: [], note: `no uprobes: ${binary} has no symbol table (built with -s -w, or not a Go program)` };
  const uprobes: PlannedUprobe[] = [];
  const missing: string[] = [];
  const atEntry: string[] = [];
  for (const p of GO_RUNTIME_PROBES) {
    const sym = symbols.get(p.fn);
    const offset = sym === undefined ? null : fileOffsetOfAddress(elf, sym.value);
    if (offset === null) {
      missing.push(p.fn);
      continue;
    }
    const fetch = p.fetch.map((f) => f.replace(/\$(\d)/g, (_, i: string) => regs[Number(i)]!));
    const skip = p.afterPrologue ? stackCheckLength(elf, offset, arch) : 0;
    if (p.afterPrologue && skip === null) atEntry.push(p.fn);
    uprobes.push({ group, event: p.event, fn: p.fn, binary, offset: offset + (skip ?? 0), fetch });
  }
  const notes = [
    missing.length ? `no uprobe for ${missing.join(", ")}: not in ${binary}'s symbol table` : null,
    atEntry.length ? `${atEntry.join(", ")} probed at entry: no stack-check prologue recognised (a re-entered call counts twice)` : null,
  ].filter((n): n is string => n !== null);
  return { uprobes, note: notes.length ? notes.join("; ") : null };
}

/**
 * Length of the stack check a Go function (amd64, register ABI: g in R14) opens with, or
 * null when the bytes at offset are not one (a NOSPLIT function, another arch):
 *   CMPQ SP, 0x10(R14)                        49 3b 66 10
 *   LEAQ -d(SP), R12; CMPQ R12, 0x10(R14)     4c 8d 64 24 d8 | 4c 8d a4 24 d32, then 4d 3b 66 10
 * followed by JBE to the morestack call: 76 r8 | 0f 86 r32.
 */
export function stackCheckLength(elf: Buffer, offset: number, arch: string): number | null {
  if (arch !== "amd64") return null;
  const at = (i: number, bytes: number[]) => bytes.every((b, k) => elf[offset + i + k] === b);
  let i = 0;
  if (at(0, [0x4c, 0x8d, 0x64, 0x24])) i = 5;
  else if (at(0, [0x4c, 0x8d, 0xa4, 0x24])) i = 8;
  if (i > 0 ? !at(i, [0x4d, 0x3b, 0x66, 0x10]) : !at(0, [0x49, 0x3b, 0x66, 0x10])) return null;
  i += 4;
  if (at(i, [0x76])) return i + 2;
  if (at(i, [0x0f, 0x86])) return i + 6;
  return null;
}
