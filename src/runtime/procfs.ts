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

const STATES: Record<string, string> = { R: "running", S: "sleeping", D: "in uninterruptible wait", T: "stopped", t: "in a tracing stop", Z: "a zombie", X: "dead" };

/**
 * What each of pid's threads is doing, in one line: its state, its tracer and where the
 * kernel parks it — what tells a hung exec (a thread left stopped, an exec waiting in
 * de_thread for its tracer) from a program that is merely slow.
 */
export async function describeThreads(pid: number): Promise<string> {
  const tids = await readdir(`/proc/${pid}/task`).catch((): string[] => []);
  if (tids.length === 0) return `PID ${pid} is gone`;
  const parts: string[] = [];
  for (const tid of tids) {
    const [stat, status, wchan] = await Promise.all([read(`/proc/${pid}/task/${tid}/stat`), read(`/proc/${pid}/task/${tid}/status`), read(`/proc/${pid}/task/${tid}/wchan`)]);
    if (stat === null) continue;
    const letter = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    const tracer = Number(/^TracerPid:\s*(\d+)/m.exec(status ?? "")?.[1] ?? 0);
    const where = wchan && wchan !== "0" ? ` in ${wchan}` : "";
    parts.push(`${tid} ${STATES[letter] ?? letter}${where}${tracer > 0 ? ` (traced by ${tracer})` : ""}`);
  }
  return `PID ${pid} threads: ${parts.join("; ")}`;
}

/**
 * Whether pid's execve waits for threads that are zombies: de_thread (inside
 * begin_new_exec) cannot finish until each dead thread is released, and a traced thread
 * is released only when its tracer reaps it. A tracer that waits for something else
 * instead never does — the exec then waits forever.
 */
export async function execWaitsOnZombies(pid: number): Promise<boolean> {
  const wchan = await read(`/proc/${pid}/task/${pid}/wchan`);
  if (wchan !== "begin_new_exec" && wchan !== "de_thread") return false;
  for (const tid of await readdir(`/proc/${pid}/task`).catch((): string[] => [])) {
    const stat = await read(`/proc/${pid}/task/${tid}/stat`);
    if (stat?.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z") return true;
  }
  return false;
}

/** The first child of pid's main thread, or null (what the kernel lists in `children`). */
export async function firstChild(pid: number): Promise<number | null> {
  const children = await read(`/proc/${pid}/task/${pid}/children`);
  const first = children?.trim().split(/\s+/)[0];
  return first ? Number(first) : null;
}

/** pid and every process below it (children of any of its threads, recursively). */
export async function processTree(pid: number): Promise<number[]> {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const tids = await readdir(`/proc/${out[i]}/task`).catch((): string[] => []);
    for (const tid of tids) {
      const children = await read(`/proc/${out[i]}/task/${tid}/children`);
      for (const c of children?.trim().split(/\s+/) ?? []) if (c && !out.includes(Number(c))) out.push(Number(c));
    }
  }
  return out;
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

/** One TCP socket of /proc/PID/net/tcp{,6}: addresses as the kernel holds them. */
export interface TcpSocket {
  /** Dotted IPv4, or IPv6 as eight hex groups (`::` for any); 0.0.0.0 for any. */
  local: { address: string; port: number };
  remote: { address: string; port: number };
  /** include/net/tcp_states.h: `established`, `listen`, or the kernel's hex number for the others. */
  state: string;
  inode: number;
}

const TCP_STATE_NAMES: Record<string, string> = { "01": "established", "0A": "listen" };

/**
 * Pure: /proc/PID/net/tcp or tcp6 → its sockets. Addresses are the kernel's 32-bit words
 * in host byte order (little-endian here); ports are big-endian hex.
 */
export function parseProcNetTcp(text: string): TcpSocket[] {
  const out: TcpSocket[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const local = endpoint(f[1]!);
    const remote = endpoint(f[2]!);
    if (local === null || remote === null) continue;
    out.push({ local, remote, state: TCP_STATE_NAMES[f[3]!] ?? f[3]!, inode: Number(f[9]) });
  }
  return out;
}

function endpoint(text: string): { address: string; port: number } | null {
  const [addr, port] = text.split(":");
  if (addr === undefined || port === undefined || (addr.length !== 8 && addr.length !== 32)) return null;
  return { address: addr.length === 8 ? ipv4FromWord(addr) : ipv6FromWords(addr), port: Number.parseInt(port, 16) };
}

const ipv4FromWord = (hex: string): string => [6, 4, 2, 0].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)).join(".");

function ipv6FromWords(hex: string): string {
  const bytes: string[] = [];
  for (let w = 0; w < 32; w += 8) for (const i of [6, 4, 2, 0]) bytes.push(hex.slice(w + i, w + i + 2));
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(`${bytes[i]}${bytes[i + 1]}`.toLowerCase());
  return groups.every((g) => g === "0000") ? "::" : groups.join(":");
}

/**
 * The TCP sockets pid holds open: entries of its network namespace's tables
 * (/proc/PID/net/tcp, tcp6) whose inode is one of its fds — on a runtime that shares the
 * host's network the tables list every socket of the host, the fds only its own.
 */
export async function tcpSocketsOf(pid: number): Promise<TcpSocket[]> {
  const fds = await readdir(`/proc/${pid}/fd`).catch((): string[] => []);
  const inodes = new Set<number>();
  for (const fd of fds) {
    const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m) inodes.add(Number(m[1]));
  }
  if (inodes.size === 0) return [];
  const tables = await Promise.all([read(`/proc/${pid}/net/tcp`), read(`/proc/${pid}/net/tcp6`)]);
  return tables.flatMap((t) => (t === null ? [] : parseProcNetTcp(t))).filter((s) => inodes.has(s.inode));
}

/** Pure: /proc/PID/net/fib_trie → the IPv4 addresses local to that network namespace (`/32 host LOCAL`). */
export function parseFibTrieLocal(text: string): string[] {
  const found = new Set<string>();
  let last: string | null = null;
  for (const line of text.split("\n")) {
    const leaf = /\|--\s+(\d+\.\d+\.\d+\.\d+)/.exec(line);
    if (leaf) last = leaf[1]!;
    else if (last !== null && /\/32 host LOCAL/.test(line)) found.add(last);
  }
  return [...found];
}

/** IPv4 addresses of pid's network namespace, loopback included. */
export async function localAddresses(pid: number): Promise<string[]> {
  const text = await read(`/proc/${pid}/net/fib_trie`);
  return text === null ? [] : parseFibTrieLocal(text);
}
