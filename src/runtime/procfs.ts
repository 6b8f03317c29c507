// What the runtimes learn about host processes from /proc. Everything here tolerates the
// process vanishing between two reads: a trial's processes die whenever they like.

import { readdir, readFile, readlink } from "node:fs/promises";
import { basename } from "node:path";

const read = (path: string): Promise<string | null> => readFile(path, "utf8").catch(() => null);

/** A zombie counts as dead: it has exited and only waits for its parent to reap it. */
export async function isAlive(pid: number): Promise<boolean> {
  const stat = await read(`/proc/${pid}/stat`);
  if (stat === null) return false;
  // The state letter follows the last ')': the command name may itself contain ')'.
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "Z" && state !== "X";
}

/** The first child of pid's main thread, or null (what the kernel lists in `children`). */
export async function firstChild(pid: number): Promise<number | null> {
  const children = await read(`/proc/${pid}/task/${pid}/children`);
  const first = children?.trim().split(/\s+/)[0];
  return first ? Number(first) : null;
}

// openat(2) numbers; Go's syscall.Open is openat(AT_FDCWD, …) on every Linux port.
const OPENAT: Partial<Record<NodeJS.Architecture, number>> = { x64: 257, arm64: 56 };
const O_ACCMODE = 3;
const O_WRONLY = 1;

/**
 * Whether pid is the gate, blocked opening its FIFO for writing. The executable's name
 * matters under docker: before the gate runs, runc's init also blocks opening a FIFO
 * (its exec.fifo) in the same PID. The kernel parks a FIFO open in wait_for_partner
 * (fs/pipe.c); /proc/PID/task/TID/syscall confirms the open where wchan is hidden.
 */
export async function isGateBlocked(pid: number, gateName: string): Promise<boolean> {
  const exe = await readlink(`/proc/${pid}/exe`).catch(() => null);
  if (exe === null || basename(exe.replace(/ \(deleted\)$/, "")) !== gateName) return false;
  const tids = await readdir(`/proc/${pid}/task`).catch((): string[] => []);
  for (const tid of tids) {
    const [wchan, syscall] = await Promise.all([read(`/proc/${pid}/task/${tid}/wchan`), read(`/proc/${pid}/task/${tid}/syscall`)]);
    if (wchan === "wait_for_partner") return true;
    const [nr, , , flags] = (syscall ?? "").trim().split(" ");
    if (Number(nr) === OPENAT[process.arch] && flags !== undefined && (Number(flags) & O_ACCMODE) === O_WRONLY) return true;
  }
  return false;
}

/** PIDs whose environment holds `${name}=…`, with that value. */
export async function processesWithEnv(name: string): Promise<{ pid: number; value: string }[]> {
  const prefix = `${name}=`;
  const found: { pid: number; value: string }[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const environ = await read(`/proc/${entry}/environ`);
    const line = environ?.split("\0").find((kv) => kv.startsWith(prefix));
    if (line !== undefined) found.push({ pid: Number(entry), value: line.slice(prefix.length) });
  }
  return found;
}
