// /proc readers of the init-stack scenario, pure: text in, values out. The hook saves the
// raw texts as captures and notes them in runtime.jsonl, so the analysis reads the same
// bytes offline.

export interface Mapping {
  start: bigint;
  end: bigint;
  perms: string;
  /** The mapped file or pseudo-name ([stack], [heap], [vdso]); "" for an anonymous mapping. */
  name: string;
  /** The line as /proc/PID/maps printed it. */
  line: string;
}

/** /proc/PID/maps: `start-end perms offset dev inode name`. */
export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+\S+\s+\S+\s+\S+\s*(.*)$/.exec(line.trim());
    if (m) out.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), perms: m[3]!, name: m[4]!.trim(), line: line.trim() });
  }
  return out;
}

/** The mapping holding address addr (0x… text), or null. */
export function mappingOf(maps: readonly Mapping[], addr: string | null): Mapping | null {
  if (addr === null || !/^0x[0-9a-f]+$/i.test(addr)) return null;
  const a = BigInt(addr);
  return maps.find((m) => m.start <= a && a < m.end) ?? null;
}

/** Describes a mapping the way the contract's `init.mapping` does: name and range. */
export const describeMapping = (m: Mapping | null): string | null =>
  m === null ? null : `${m.name || "[anon]"} 0x${m.start.toString(16)}-0x${m.end.toString(16)} ${m.perms}`;

/** Linux x86-64 syscall numbers an init may be blocked in (arch/x86/entry/syscalls/syscall_64.tbl). */
const X86_64_SYSCALLS: Record<number, string> = {
  7: "poll",
  23: "select",
  34: "pause",
  35: "nanosleep",
  61: "wait4",
  128: "rt_sigtimedwait",
  130: "rt_sigsuspend",
  202: "futex",
  230: "clock_nanosleep",
  232: "epoll_wait",
  281: "epoll_pwait",
};

export interface ProcSyscall {
  /** The syscall the task is blocked in, by number and name; "running" when it is not in one. */
  nr: number | null;
  name: string | null;
  running: boolean;
  /** User stack pointer and instruction pointer at the syscall entry. */
  sp: string | null;
  pc: string | null;
  args: string[];
}

/** /proc/PID/syscall: `nr a1 … a6 sp pc` while blocked in a syscall, `-1 sp pc` blocked otherwise, `running`. */
export function parseProcSyscall(text: string): ProcSyscall {
  const f = text.trim().split(/\s+/);
  if (f[0] === "running" || f.length < 3) return { nr: null, name: null, running: f[0] === "running", sp: null, pc: null, args: [] };
  const nr = Number(f[0]);
  return { nr, name: nr >= 0 ? (X86_64_SYSCALLS[nr] ?? `syscall ${nr}`) : null, running: false, sp: f.at(-2)!, pc: f.at(-1)!, args: f.slice(1, -2) };
}
