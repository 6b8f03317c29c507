import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { SyscallRecord } from "../../src/parse/records.js";
import { parseStraceText, pidFromFileName } from "../../src/parse/strace.js";
import { decodeString, failurePath, summarizeFailures } from "../../src/parse/strace-summary.js";

const DIR = join(import.meta.dirname, "..", "fixtures", "strace");
const fixture = (name: string) => parseStraceText(readFileSync(join(DIR, name), "utf8"), { pid: pidFromFileName(name) });
const call = (line: string): SyscallRecord => {
  const [record] = parseStraceText(line);
  if (record?.kind !== "syscall") throw new Error(`not a syscall line: ${line}`);
  return record;
};

describe("failed syscall summary", () => {
  it("names the zoneinfo file date looked for", () => {
    expect(summarizeFailures(fixture("date-tz-missing.log"))).toContainEqual({
      syscall: "openat",
      path: "/usr/share/zoneinfo/Nowhere/Zone",
      errno: "ENOENT",
      count: 1,
      pids: [],
    });
  });

  it("groups across -ff files and lists the pids that failed", () => {
    const files = readdirSync(join(DIR, "ff")).filter((f) => !f.endsWith(".golden.jsonl"));
    const pids = files.map((f) => pidFromFileName(f)!).sort((a, b) => a - b);
    const rows = summarizeFailures(files.flatMap((f) => fixture(join("ff", f))));
    expect(rows[0]).toEqual({ syscall: "access", path: "/etc/ld.so.preload", errno: "ENOENT", count: 2, pids });
    expect(rows).toContainEqual({ syscall: "statx", path: "/nonexistent", errno: "ENOENT", count: 2, pids: [pids[1]] });
  });

  it("takes the path from where the syscall table says, for each kind of call", () => {
    const rows = summarizeFailures(fixture("tricky.log"));
    const paths = (syscall: string, errno: string) =>
      rows.filter((r) => r.syscall === syscall && r.errno === errno).map((r) => r.path);
    expect(paths("openat", "ENOENT")).toContain("/nonexistent/dir/file");
    expect(paths("access", "ENOENT")).toContain("/etc/shadow-missing");
    expect(paths("newfstatat", "ENOENT")).toEqual(["/no/such/path"]);
    expect(paths("readlinkat", "EINVAL")).toEqual(["/etc/hostname"]);
    expect(paths("mkdir", "EEXIST")).toEqual(["/tmp"]);
    expect(paths("unlink", "ENOENT")).toEqual(["/tmp/forensics-missing-file"]);
    expect(paths("chdir", "ENOENT")).toEqual(["/no/such/dir"]);
    expect(paths("mount", "ENOENT")).toEqual(["/no/such/mnt"]);
    expect(paths("umount2", "ENOENT")).toEqual(["/no/such/mnt"]);
    expect(paths("connect", "ENOENT")).toEqual(["/run/forensics-missing.sock"]);
    expect(paths("connect", "ECONNREFUSED")).toEqual(["127.0.0.1:1"]);
    // Calls interrupted by a signal count too: they are how a signal shows in a trace.
    expect(rows.find((r) => r.errno === "ERESTARTNOHAND")).toMatchObject({ syscall: "pause", path: null });
  });

  it("resolves a relative path against a -y dirfd, and falls back to an fd's -y path", () => {
    expect(failurePath(call('openat(AT_FDCWD</srv/app>, "conf/app.toml", O_RDONLY) = -1 ENOENT (No such file or directory)'))).toBe(
      "/srv/app/conf/app.toml",
    );
    expect(failurePath(call('newfstatat(3</etc>, "", 0x7ffd, AT_EMPTY_PATH) = -1 EACCES (Permission denied)'))).toBe("/etc");
    expect(failurePath(call('openat(AT_FDCWD, "rel", O_RDONLY) = -1 ENOENT (No such file or directory)'))).toBe("rel");
    expect(failurePath(call("read(7</var/log/app.log>, 0x7ffd, 4096) = -1 EIO (Input/output error)"))).toBe("/var/log/app.log");
    expect(failurePath(call("futex(0x5dc660, FUTEX_WAIT_PRIVATE, 0, NULL) = -1 EAGAIN (Resource temporarily unavailable)"))).toBeNull();
    expect(failurePath(call("__proto__(1) = -1 ENOSYS (Function not implemented)"))).toBeNull();
  });

  it("orders rows by count, then by name", () => {
    const rows = summarizeFailures(fixture("go-sigterm-threads.log"));
    const counts = rows.map((r) => r.count);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    expect(rows.every((r) => r.errno.startsWith("E"))).toBe(true);
  });
});

describe("strace string decoding", () => {
  it("undoes C escapes, octal UTF-8 bytes and truncation", () => {
    expect(decodeString(String.raw`"tab\there \"q\" back\\slash\n"`)).toBe('tab\there "q" back\\slash\n');
    expect(decodeString(String.raw`"/tmp/caf\303\251"`)).toBe("/tmp/café");
    expect(decodeString(String.raw`"\x41\x42"`)).toBe("AB");
    expect(decodeString('"/very/long/pa"...')).toBe("/very/long/pa…");
    expect(decodeString('@"abstract"')).toBe("@abstract");
  });
});
