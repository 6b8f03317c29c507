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
}

export const GO_RUNTIME_PROBES: readonly GoProbe[] = [
  // runtime/signal_unix.go: sighandler(sig uint32, info *siginfo, ctxt unsafe.Pointer, gp *g) — every signal the runtime catches.
  { event: "sighandler", fn: "runtime.sighandler", fetch: ["sig=$0:u32"] },
  // runtime/sigqueue.go: sigsend(s uint32) bool — the handler queues it for os/signal.
  { event: "sigsend", fn: "runtime.sigsend", fetch: ["sig=$0:u32"] },
  // os/signal/signal.go: process(sig os.Signal) — the interface's data word (the 2nd
  // register) points at the syscall.Signal, an int.
  { event: "signal_process", fn: "os/signal.process", fetch: ["sig=+0($1):s32"] },
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
  for (const p of GO_RUNTIME_PROBES) {
    const sym = symbols.get(p.fn);
    const offset = sym === undefined ? null : fileOffsetOfAddress(elf, sym.value);
    if (offset === null) {
      missing.push(p.fn);
      continue;
    }
    const fetch = p.fetch.map((f) => f.replace(/\$(\d)/g, (_, i: string) => regs[Number(i)]!));
    uprobes.push({ group, event: p.event, fn: p.fn, binary, offset, fetch });
  }
  return { uprobes, note: missing.length === 0 ? null : `no uprobe for ${missing.join(", ")}: not in ${binary}'s symbol table` };
}
