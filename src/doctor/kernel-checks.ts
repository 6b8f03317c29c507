// Doctor's checks for the kernel observer. Like the other checks they do the real thing:
// make an instance of our own, stamp a marker and read it back through trace_pipe, define
// (and remove) a uprobe; a mounted tracefs can still refuse all of that (no root, lockdown).

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { SIGNAL_EVENT, TRACE_CLOCK, TREE_EVENTS } from "../capture/kernel.js";
import { addUprobe, createInstance, findTracefs, INSTANCE_PREFIX, openTracePipe, removeUprobe, UPROBE_GROUP_PREFIX } from "../capture/tracefs.js";
import { isHarnessError } from "../errors.js";
import type { CheckOutcome, CheckSpec } from "./check-spec.js";

const BLOCKS: CheckSpec["blocks"] = ["attachment:kernel"];
const USE_STRACE = "until then, observe with --observe strace";

async function locate(): Promise<string | CheckOutcome> {
  try {
    return await findTracefs();
  } catch (err) {
    if (!isHarnessError(err)) throw err;
    return { ok: false, detail: err.message, fix: `mount -t tracefs nodev /sys/kernel/tracing as root; ${USE_STRACE}` };
  }
}

export const tracefsCheck: CheckSpec = {
  id: "tracefs",
  title: "tracefs",
  blocks: BLOCKS,
  command: "mkdir /sys/kernel/tracing/instances/x && echo mono > …/x/trace_clock && echo hi > …/x/trace_marker && cat …/x/trace_pipe",
  timeoutMs: 5_000,
  async run() {
    const root = await locate();
    if (typeof root !== "string") return root;
    const instance = await createInstance(root, `${INSTANCE_PREFIX}${process.pid}-doctor`).catch((err: unknown) => err as Error);
    if (instance instanceof Error) return { ok: false, detail: instance.message, fix: `run forensics as root; ${USE_STRACE}` };
    try {
      const clocks = await readFile(join(instance.dir, "trace_clock"), "utf8");
      if (!clocks.split(/[\s[\]]+/).includes(TRACE_CLOCK)) {
        return { ok: false, detail: `the trace clocks are ${clocks.trim()}: no ${TRACE_CLOCK}`, fix: `use a kernel with the ${TRACE_CLOCK} trace clock (Linux ≥ 3.10); ${USE_STRACE}` };
      }
      await instance.write("trace_clock", TRACE_CLOCK);
      const pipe = await openTracePipe(instance.dir);
      try {
        await instance.write("trace_marker", "forensics doctor");
        const text = await pipe.read();
        if (!text.includes("forensics doctor")) {
          return { ok: false, detail: `a marker written to ${instance.dir}/trace_marker did not come back through trace_pipe`, fix: `check ${instance.dir}/tracing_on by hand; ${USE_STRACE}` };
        }
      } finally {
        await pipe.close();
      }
      return { ok: true, detail: `${root}: an instance of ours with the ${TRACE_CLOCK} clock stamped and returned a marker` };
    } finally {
      await instance.remove();
    }
  },
};

export const tracepointsCheck: CheckSpec = {
  id: "tracepoints",
  title: "Tracepoints",
  blocks: BLOCKS,
  command: `ls /sys/kernel/tracing/events/{${[...TREE_EVENTS, SIGNAL_EVENT].join(",")}}`,
  timeoutMs: 5_000,
  async run() {
    const root = await locate();
    if (typeof root !== "string") return root;
    const missing = [...TREE_EVENTS, SIGNAL_EVENT].filter((e) => !existsSync(join(root, "events", e, "enable")));
    if (missing.length > 0) {
      const syscalls = missing.some((e) => e.startsWith("syscalls/"));
      return {
        ok: false,
        detail: `missing: ${missing.join(", ")}`,
        fix: `use a kernel built with CONFIG_TRACEPOINTS${syscalls ? " and CONFIG_FTRACE_SYSCALLS" : ""}; ${USE_STRACE}`,
      };
    }
    return { ok: true, detail: `sched exec/fork/exit, signal generate/deliver, rt_sigaction enter/exit all present` };
  },
};

export const uprobesCheck: CheckSpec = {
  id: "uprobes",
  title: "Uprobes",
  blocks: BLOCKS,
  command: `echo 'p:test/x ${process.execPath}:0x0' >> /sys/kernel/tracing/uprobe_events`,
  timeoutMs: 5_000,
  async run() {
    const root = await locate();
    if (typeof root !== "string") return root;
    if (!existsSync(join(root, "uprobe_events"))) {
      return { ok: false, detail: `no ${root}/uprobe_events`, fix: `use a kernel built with CONFIG_UPROBE_EVENTS; ${USE_STRACE}` };
    }
    // Defined, never enabled: the kernel checks path and offset, no breakpoint is written.
    const probe = { group: `${UPROBE_GROUP_PREFIX}${process.pid}_doctor`, event: "check", binary: process.execPath, offset: 0, fetch: [] };
    try {
      await addUprobe(root, probe);
    } catch (err) {
      if (!isHarnessError(err)) throw err;
      return { ok: false, detail: err.message, fix: `run forensics as root (and without kernel lockdown); the kernel observer then works without uprobes on the Go runtime` };
    }
    await removeUprobe(root, probe.group, probe.event);
    return { ok: true, detail: `${root}/uprobe_events took a uprobe on ${process.execPath} and removed it` };
  },
};
