import type { KernelRecord } from "../parse/kernel-records.js";
import type { ProbeEvent, StraceRecord } from "../parse/records.js";
import { nsTextToUs } from "../parse/probe.js";
import type { Origin } from "./schemas.js";

// One origin per trial for every observer: the gate's exec. Where the kernel observer ran,
// its sched_process_exec of the gate's PID is the exec, exactly. Otherwise two instants bound it from above, each late
// in its own way: the driver reads EOF on the gate's FIFO when the exec closes it (but a
// busy machine can deschedule the driver for milliseconds), and strace's execve returns
// only after strace has handled its own exec and syscall-exit stops. The earlier of the two
// is the tighter bound, so it is the origin: no instant of the trial comes out before it
// by more than the exec's own few µs, and the driver's offsets are never negative.
export function findOrigin(records: { strace?: StraceRecord[]; kernel?: KernelRecord[]; runtime: ProbeEvent[] }, gatePid: number | null): Origin | null {
  const kernelExec = records.kernel?.find((r) => r.kind === "exec" && r.execPid === gatePid && r.tsUs !== null);
  if (kernelExec) return { us: kernelExec.tsUs!, source: "kernel" };
  const candidates: Origin[] = [];
  const driver = records.runtime.find((r) => r.ev === "driver");
  if (driver && typeof driver.fields.execNs === "string") candidates.push({ us: nsTextToUs(driver.fields.execNs), source: "driver" });
  const exec = records.strace?.find((r) => r.kind === "syscall" && r.pid === gatePid && r.syscall === "execve" && r.ret === "0" && r.tsUs !== null);
  if (exec?.kind === "syscall") candidates.push({ us: exec.tsUs! + (exec.durationUs ?? 0), source: "strace" });
  return candidates.reduce<Origin | null>((best, c) => (best === null || c.us < best.us ? c : best), null);
}
