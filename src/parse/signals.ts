// Linux signal numbers and names (x86-64 and arm64 share them), for parsers whose input
// prints numbers: the kernel's tracepoints, uprobe arguments. Real-time signals are named
// as strace names them (SIGRT_1 = 33), so records from both observers agree.

const STANDARD: readonly string[] = [
  "", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1",
  "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",
  "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
];

const SIGRTMIN = 32;
const SIGRTMAX = 64;

/** "SIGTERM" for 15, "SIGRT_2" for 34; null outside 1..64. */
export function signalName(sig: number): string | null {
  if (!Number.isInteger(sig) || sig < 1 || sig > SIGRTMAX) return null;
  return sig < SIGRTMIN ? STANDARD[sig]! : sig === SIGRTMIN ? "SIGRTMIN" : `SIGRT_${sig - SIGRTMIN}`;
}

/** 15 for "SIGTERM" or "TERM"; null when unknown. */
export function signalNumber(name: string): number | null {
  const full = name.startsWith("SIG") ? name : `SIG${name}`;
  const i = STANDARD.indexOf(full);
  if (i > 0) return i;
  if (full === "SIGRTMIN") return SIGRTMIN;
  const rt = /^SIGRT_(\d+)$/.exec(full);
  return rt && SIGRTMIN + Number(rt[1]) <= SIGRTMAX ? SIGRTMIN + Number(rt[1]) : null;
}
