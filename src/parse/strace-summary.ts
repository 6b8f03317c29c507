import type { StraceRecord, SyscallRecord } from "./records.js";
import { syscallArgs } from "./syscall-table.js";

// Failed syscalls grouped by what failed where: the first thing anyone reads in a trace
// ("which files did it look for and not find?"). Pure; fed record by record so a 200 MB
// log is summarised without keeping its records.

export interface FailureRow {
  syscall: string;
  /** What the call was about (a path, an fd's -y path, a socket address), or null. */
  path: string | null;
  errno: string;
  count: number;
  /** Sorted; calls on lines without a pid are counted but have none to list. */
  pids: number[];
}

export interface FailureSummary {
  add(record: StraceRecord): void;
  rows(): FailureRow[];
}

interface Group {
  syscall: string;
  path: string | null;
  errno: string;
  count: number;
  pids: Set<number>;
}

// Record strings are slices of the reader's chunks; a row kept for the whole run must not
// pin its chunk, so the strings it keeps are copied.
const detach = (s: string): string => s.split("").join("");

/** Code-unit order: the same on every machine, unlike localeCompare. */
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Collects failed calls (those with an errno, ERESTART* included: a signal hit them). */
export function createFailureSummary(): FailureSummary {
  const groups = new Map<string, Group>();
  return {
    add(record: StraceRecord): void {
      if (record.kind !== "syscall" || record.errno === null) return;
      const path = failurePath(record);
      const key = `${record.syscall}\u0000${path ?? "\u0001"}\u0000${record.errno}`;
      let group = groups.get(key);
      if (group === undefined) {
        group = {
          syscall: detach(record.syscall),
          path: path === null ? null : detach(path),
          errno: detach(record.errno),
          count: 0,
          pids: new Set(),
        };
        groups.set(detach(key), group);
      }
      group.count++;
      if (record.pid !== null) group.pids.add(record.pid);
    },
    rows(): FailureRow[] {
      return [...groups.values()]
        .map((g) => ({ ...g, pids: [...g.pids].sort((a, b) => a - b) }))
        .sort(
          (a, b) =>
            b.count - a.count ||
            compare(a.syscall, b.syscall) ||
            compare(a.path ?? "", b.path ?? "") ||
            compare(a.errno, b.errno),
        );
    },
  };
}

export function summarizeFailures(records: Iterable<StraceRecord>): FailureRow[] {
  const summary = createFailureSummary();
  for (const r of records) summary.add(r);
  return summary.rows();
}

/**
 * The object of a call, from the syscall table: its path argument (resolved against a -y
 * decorated dirfd when relative), else its socket address, else its fd's -y path.
 */
export function failurePath(record: SyscallRecord): string | null {
  const roles = syscallArgs(record.syscall);
  if (roles === undefined) return null;
  const arg = (index: number | undefined): string | undefined => (index === undefined ? undefined : record.args[index]);
  const pathArg = arg(roles.path);
  if (pathArg !== undefined && pathArg.startsWith('"')) {
    const path = decodeString(pathArg);
    const dir = decorationOf(arg(roles.dirfd));
    if (path.startsWith("/") || dir === null) return path;
    return path === "" ? dir : `${dir.replace(/\/$/, "")}/${path}`;
  }
  const sockaddr = arg(roles.sockaddr);
  if (sockaddr !== undefined) {
    const address = socketAddress(sockaddr);
    if (address !== null) return address;
  }
  return decorationOf(arg(roles.fd));
}

/** The -y path of an fd argument: `3</etc/passwd>` → "/etc/passwd", `AT_FDCWD</tmp>` → "/tmp". */
export function decorationOf(arg: string | undefined): string | null {
  const m = arg === undefined ? null : /^(?:-?\d+|AT_FDCWD)<(.*)>$/s.exec(arg);
  return m === null ? null : decodeEscapes(m[1]!);
}

/** `{sa_family=AF_UNIX, sun_path="/run/x.sock"}` → "/run/x.sock"; inet ones → "127.0.0.1:80". */
function socketAddress(arg: string): string | null {
  const unix = /sun_path=(@?"(?:[^"\\]|\\.)*"(?:\.\.\.)?)/.exec(arg);
  if (unix !== null) return decodeString(unix[1]!);
  const port = /sin6?_port=htons\((\d+)\)/.exec(arg)?.[1];
  const v4 = /sin_addr=inet_addr\("([^"]*)"\)/.exec(arg)?.[1];
  if (v4 !== undefined) return port === undefined ? v4 : `${v4}:${port}`;
  const v6 = /inet_pton\(AF_INET6, "([^"]*)"/.exec(arg)?.[1];
  if (v6 !== undefined) return port === undefined ? v6 : `[${v6}]:${port}`;
  return null;
}

/**
 * A strace string argument as text: quotes removed, C escapes decoded (bytes as UTF-8),
 * "…" appended when strace truncated it (`"abc"...`), "@" kept for abstract sockets.
 */
export function decodeString(arg: string): string {
  const abstract = arg.startsWith("@");
  const body = abstract ? arg.slice(1) : arg;
  const truncated = body.endsWith('"...');
  const inner = body.slice(1, truncated ? -4 : -1);
  return `${abstract ? "@" : ""}${decodeEscapes(inner)}${truncated ? "…" : ""}`;
}

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = { n: 10, t: 9, r: 13, v: 11, f: 12, a: 7, b: 8, '"': 34, "\\": 92 };

function decodeEscapes(text: string): string {
  if (!text.includes("\\")) return text;
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < text.length; i++) {
    const ch = String.fromCodePoint(text.codePointAt(i)!);
    if (ch !== "\\" || i + 1 >= text.length) {
      bytes.push(...encoder.encode(ch));
      i += ch.length - 1;
      continue;
    }
    const next = text[i + 1]!;
    const hex = next === "x" ? /^[0-9a-fA-F]{2}/.exec(text.slice(i + 2, i + 4)) : null;
    const octal = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4));
    if (hex !== null) {
      bytes.push(parseInt(hex[0], 16));
      i += 3;
    } else if (octal !== null) {
      bytes.push(parseInt(octal[0], 8) & 0xff);
      i += octal[0].length;
    } else if (Object.hasOwn(SIMPLE_ESCAPES, next)) {
      bytes.push(SIMPLE_ESCAPES[next]!);
      i += 1;
    } else {
      bytes.push(92);
    }
  }
  return new TextDecoder().decode(Uint8Array.from(bytes));
}
