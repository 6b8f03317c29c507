import type { StraceRecord } from "../parse/records.js";
import { syscallArgs } from "../parse/syscall-table.js";

// Which files a traced program looked for, and who in it looked: the evidence behind every
// time-zone and locale claim. Pure: StraceRecords in, accesses out.

export type FileOp = "open" | "stat" | "readlink" | "access" | "mount";
/**
 * Who made the call. In a process without a C library everything is Go's. With one (cgo),
 * an open with O_CLOEXEC is the C library's (glibc's and musl's fopen "re"), and one
 * without it is Go's only for zone files (time/sys_unix.go opens them with a bare
 * syscall.Open): glibc 2.36 was measured opening gconv-modules.cache without O_CLOEXEC.
 * Everything else — stat, readlink, access, mount, which Go's os package and glibc's
 * tzset make alike — is "other".
 */
export type Opener = "go" | "libc" | "other";

export interface FileAccess {
  /** Index of the record in the trial's strace records. */
  index: number;
  pid: number | null;
  tsUs: number | null;
  syscall: string;
  op: FileOp;
  /** The path as the program passed it (double slashes kept: they tell who built it). */
  path: string;
  /** For mount: the source; null otherwise. */
  source: string | null;
  /** What the kernel resolved an opened fd to (strace -y), e.g. /usr/share/zoneinfo/Etc/UTC. */
  resolved: string | null;
  errno: string | null;
  flags: string[];
  by: Opener;
}

const OPS: Record<string, FileOp> = {
  open: "open", openat: "open", openat2: "open", creat: "open",
  stat: "stat", lstat: "stat", newfstatat: "stat", statx: "stat", fstatat64: "stat",
  readlink: "readlink", readlinkat: "readlink",
  access: "access", faccessat: "access", faccessat2: "access",
  mount: "mount",
};

/**
 * Every file access of the records whose path (or mount source) `wanted` accepts;
 * `hasLibc` says whether the traced program carries a C library (a cgo build).
 */
export function extractFileAccesses(records: StraceRecord[], wanted: (path: string) => boolean, hasLibc: boolean): FileAccess[] {
  const out: FileAccess[] = [];
  records.forEach((r, index) => {
    if (r.kind !== "syscall" || r.unfinished) return;
    const op = OPS[r.syscall];
    const roles = syscallArgs(r.syscall);
    if (op === undefined || roles?.path === undefined) return;
    const path = unquote(r.args[roles.path]);
    // mount(source, target, …): the table's path is the target; the source is argument 0.
    const source = op === "mount" ? unquote(r.args[0]) : null;
    if (path === null || !(wanted(path) || (source !== null && wanted(source)))) return;
    const flags = roles.flags === undefined ? [] : (r.args[roles.flags] ?? "").split("|").map((f) => f.trim()).filter(Boolean);
    out.push({
      index, pid: r.pid, tsUs: r.tsUs, syscall: r.syscall, op, path, source,
      resolved: op === "open" ? fdPath(r.ret) : null,
      errno: r.errno, flags, by: opener(op, flags, path, hasLibc),
    });
  });
  return out;
}

function opener(op: FileOp, flags: string[], path: string, hasLibc: boolean): Opener {
  if (!hasLibc) return "go";
  if (op !== "open") return "other";
  if (flags.includes("O_CLOEXEC")) return "libc";
  return isTimeZonePath(path) ? "go" : "other";
}

/** Paths the C library and Go's time package read time-zone data from. */
export function isTimeZonePath(path: string): boolean {
  return /zoneinfo|^\/etc\/localtime$|^\/etc\/timezone$|^\/usr\/lib\/locale\/TZ\//.test(path);
}

/** Paths of locale data: compiled locales, their sources and charmaps, message catalogs, gconv modules. */
export function isLocalePath(path: string): boolean {
  return !isTimeZonePath(path) && /^\/usr\/lib\/locale\/|^\/usr\/share\/i18n\/|^\/usr\/share\/locale|\/gconv\/|^\/etc\/locale/.test(path);
}

// strace prints a path as a C string: "…" with \" \\ and octal escapes; "…"... when cut by -s.
function unquote(arg: string | undefined): string | null {
  const m = arg === undefined ? null : /^"((?:[^"\\]|\\.)*)"(?:\.\.\.)?$/.exec(arg);
  if (m === null) return null;
  return m[1]!.replace(/\\([0-7]{1,3}|.)/g, (_, e: string) => (/^[0-7]+$/.test(e) ? String.fromCharCode(parseInt(e, 8)) : ({ n: "\n", t: "\t" } as Record<string, string>)[e] ?? e));
}

/** "3</usr/share/zoneinfo/Etc/UTC>" → the path; null for an error or a bare number. */
function fdPath(ret: string | null): string | null {
  return ret === null ? null : (/^\d+<(.*)>$/.exec(ret)?.[1] ?? null);
}
