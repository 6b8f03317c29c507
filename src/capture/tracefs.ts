// tracefs, the kernel's tracing filesystem, as the kernel observer uses it: the harness's
// own instances under instances/ (never the global buffer, never anyone else's instance)
// and its own uprobe events. Every name carries the harness's PID, so a later run tells a
// dead harness's debris from a live one's: instances `forensics-<pid>-<trialId>…`, uprobe
// groups `forensics_<pid>_<n>`.

import { constants, existsSync } from "node:fs";
import { appendFile, mkdir, open, readdir, readFile, rmdir, writeFile, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { HarnessError } from "../errors.js";
import { isAlive } from "../runtime/procfs.js";

export const TRACEFS_PATHS = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] as const;
const MOUNT_FIX = "mount -t tracefs nodev /sys/kernel/tracing (as root; a container needs --privileged or the host's /sys/kernel/tracing bind-mounted)";

export const INSTANCE_PREFIX = "forensics-";
const INSTANCE_OWNER = /^forensics-(\d+)-/;
export const UPROBE_GROUP_PREFIX = "forensics_";
const UPROBE_OWNER = /^forensics_(\d+)_[A-Za-z0-9]+$/;

let mounted: Promise<string> | null = null;

/** The tracefs mount point; mounts it at /sys/kernel/tracing when nothing is mounted there yet. */
export function findTracefs(): Promise<string> {
  mounted ??= locateTracefs().catch((err: unknown) => {
    mounted = null;
    throw err;
  });
  return mounted;
}

async function locateTracefs(): Promise<string> {
  for (const dir of TRACEFS_PATHS) if (existsSync(join(dir, "instances"))) return dir;
  if (!existsSync(TRACEFS_PATHS[0])) {
    throw new HarnessError("MISSING_TOOL", `no ${TRACEFS_PATHS[0]}: this kernel has no tracefs (CONFIG_FTRACE); the kernel observer cannot run here`);
  }
  const r = await execa("mount", ["-t", "tracefs", "nodev", TRACEFS_PATHS[0]], { reject: false });
  if (r.exitCode !== 0 || !existsSync(join(TRACEFS_PATHS[0], "instances"))) {
    throw new HarnessError("MISSING_TOOL", `tracefs is not mounted and mounting it failed (${r.stderr.trim() || `exit ${r.exitCode}`}): ${MOUNT_FIX}`);
  }
  return TRACEFS_PATHS[0];
}

/** An instance of ours: its own ring buffer, clock, enabled events and pid filter. */
export interface TracefsInstance {
  readonly name: string;
  readonly dir: string;
  /** Writes one control file of the instance (trace_clock, set_event_pid, events/…/enable). */
  write(file: string, text: string): Promise<void>;
  /** Disables every event, then removes the instance. Idempotent; never throws. */
  remove(): Promise<void>;
}

export async function createInstance(root: string, name: string): Promise<TracefsInstance> {
  if (!INSTANCE_OWNER.test(name) || name.includes("/")) throw new Error(`not a forensics instance name: ${name}`);
  const dir = join(root, "instances", name);
  await mkdir(dir).catch((err: unknown) => {
    throw new HarnessError("MISSING_TOOL", `cannot create the tracefs instance ${dir} (${(err as Error).message}): run as root; ${MOUNT_FIX}`, { cause: err });
  });
  let removed: Promise<void> | null = null;
  return {
    name,
    dir,
    write: (file, text) => writeControl(join(dir, file), text),
    remove: () => (removed ??= removeInstanceDir(dir)),
  };
}

/** Control files take one write; a rejected value comes back as EINVAL, with the reason in error_log. */
async function writeControl(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text);
  } catch (err) {
    const why = await readErrorLog(path);
    throw new HarnessError("MISSING_TOOL", `tracefs refused "${text.trim()}" in ${path}: ${(err as Error).message}${why ? ` (${why})` : ""}`, { cause: err });
  }
}

async function readErrorLog(path: string): Promise<string> {
  const root = TRACEFS_PATHS.find((p) => path.startsWith(p));
  if (root === undefined) return "";
  const log = await readFile(join(root, "error_log"), "utf8").catch(() => "");
  return log.trim().split("\n").slice(-2).join(" ").replace(/\s+/g, " ");
}

// rmdir fails with EBUSY while a file of the instance is open (the reader must close
// trace_pipe first) and, briefly, while the kernel still holds an event reference.
async function removeInstanceDir(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  await writeFile(join(dir, "events/enable"), "0").catch(() => undefined);
  await writeFile(join(dir, "set_event_pid"), "").catch(() => undefined);
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return;
      if (code !== "EBUSY") return;
      await sleep(20);
    }
  }
}

/** One uprobe definition, as uprobe_events takes it. */
export interface UprobeDefinition {
  group: string;
  event: string;
  /** Host path of the binary, as the kernel resolves it when the probe is defined. */
  binary: string;
  /** File offset of the probed instruction. */
  offset: number;
  /** Fetch arguments, e.g. "sig=%ax:u32". */
  fetch: string[];
}

export const formatUprobe = (u: UprobeDefinition): string =>
  [`p:${u.group}/${u.event}`, `${u.binary}:0x${u.offset.toString(16)}`, ...u.fetch].join(" ");

/**
 * Appends a uprobe to uprobe_events. Always O_APPEND: opening that file for writing
 * without it deletes every uprobe of the host, other tools' included.
 */
export async function addUprobe(root: string, u: UprobeDefinition): Promise<void> {
  if (!u.group.startsWith(UPROBE_GROUP_PREFIX)) throw new Error(`not a forensics uprobe group: ${u.group}`);
  const line = formatUprobe(u);
  try {
    await appendFile(join(root, "uprobe_events"), `${line}\n`);
  } catch (err) {
    const why = await readErrorLog(join(root, "uprobe_events"));
    throw new HarnessError(
      "MISSING_TOOL",
      `the kernel refused the uprobe "${line}": ${(err as Error).message}${why ? ` (${why})` : ""}; check CONFIG_UPROBE_EVENTS and that ${u.binary} exists`,
      { cause: err },
    );
  }
}

/** Removes one uprobe event; it must be disabled in every instance first (else EBUSY). Never throws. */
export async function removeUprobe(root: string, group: string, event: string): Promise<void> {
  for (let attempt = 0; attempt < 25; attempt++) {
    try {
      await appendFile(join(root, "uprobe_events"), `-:${group}/${event}\n`);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EBUSY") return;
      await sleep(20);
    }
  }
}

/** `p:group/event path:0x… args` lines of uprobe_events → [group, event]. */
export function listUprobes(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const line of text.split("\n")) {
    const m = /^[pr]\d*:([^/\s]+)\/(\S+)\s/.exec(line);
    if (m) out.push([m[1]!, m[2]!]);
  }
  return out;
}

/**
 * Removes the instances and uprobes of harnesses that are gone (their PID is dead), e.g.
 * after a SIGKILL or a crash; returns what it removed, described. Another live harness's
 * are left alone.
 */
export async function sweepDeadInstances(): Promise<string[]> {
  const root = await findTracefs().catch(() => null);
  if (root === null) return [];
  const dead = async (pid: number) => pid !== process.pid && !(await isAlive(pid));
  const removed: string[] = [];
  for (const name of await readdir(join(root, "instances")).catch(() => [] as string[])) {
    const owner = INSTANCE_OWNER.exec(name);
    if (owner && (await dead(Number(owner[1])))) {
      await removeInstanceDir(join(root, "instances", name));
      if (!existsSync(join(root, "instances", name))) removed.push(`tracefs instance ${name}`);
    }
  }
  const text = await readFile(join(root, "uprobe_events"), "utf8").catch(() => "");
  for (const [group, event] of listUprobes(text)) {
    const owner = UPROBE_OWNER.exec(group);
    if (owner && (await dead(Number(owner[1])))) {
      // A dead harness's uprobe may still be enabled in an instance of another tool; only
      // ours were removed above, so at worst this one stays (EBUSY) and the next sweep retries.
      await writeFile(join(root, "events", group, event, "enable"), "0").catch(() => undefined);
      await removeUprobe(root, group, event);
      removed.push(`uprobe ${group}/${event}`);
    }
  }
  return removed;
}

/** What of ours tracefs still holds, for tests and doctor: instance names and uprobe groups of this PID (or any). */
export async function listOwnTracefs(pid: number | null = process.pid): Promise<{ instances: string[]; uprobes: string[] }> {
  const root = await findTracefs();
  const mine = (owner: RegExpExecArray | null) => owner !== null && (pid === null || Number(owner[1]) === pid);
  const instances = (await readdir(join(root, "instances"))).filter((n) => mine(INSTANCE_OWNER.exec(n)));
  const uprobes = listUprobes(await readFile(join(root, "uprobe_events"), "utf8"))
    .filter(([group]) => mine(UPROBE_OWNER.exec(group)))
    .map(([g, e]) => `${g}/${e}`);
  return { instances, uprobes };
}

/**
 * A non-blocking reader of an instance's trace_pipe. trace_pipe consumes what it returns
 * and, opened O_NONBLOCK, answers EAGAIN when empty instead of blocking: no read stays
 * parked in libuv's thread pool, so stopping never waits on the kernel.
 */
export interface TracePipe {
  /** Everything buffered now ("" when empty). */
  read(): Promise<string>;
  close(): Promise<void>;
}

const PIPE_READ_BYTES = 256 * 1024;

export async function openTracePipe(instanceDir: string): Promise<TracePipe> {
  const handle: FileHandle = await open(join(instanceDir, "trace_pipe"), constants.O_RDONLY | constants.O_NONBLOCK);
  const buf = Buffer.allocUnsafe(PIPE_READ_BYTES);
  // A read may end inside a multi-byte character of a file name; the decoder keeps its start.
  const decoder = new StringDecoder("utf8");
  let closed = false;
  return {
    async read() {
      let text = "";
      while (!closed) {
        let n: number;
        try {
          n = (await handle.read(buf, 0, buf.length, null)).bytesRead;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "EAGAIN") break;
          throw err;
        }
        if (n === 0) break;
        text += decoder.write(buf.subarray(0, n));
      }
      return text;
    },
    async close() {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
}
