import type { GdbRecord } from "../parse/gdb-records.js";
import { parseGdbText } from "../parse/gdb.js";
import { readGoRuntime, RUNTIME_READS, THREAD_READS, type GoRuntimeReading } from "../evidence/go-runtime.js";
import type { GdbSession } from "./gdb-session.js";

// The standard reads of a Go process's runtime state at a checkpoint: the signal queue,
// os/signal's subscriptions, and per thread $rsp against the stacks of its g, g0 and
// gsignal. Every command goes through the session, so the trial's gdb.log holds them all
// and the same reading can be redone offline from the bundle (evidence/go-runtime.ts
// holds the commands, since its reader depends on their exact expressions).

export interface GoSnapshot {
  pid: number;
  /** This snapshot's part of the transcript, as gdb wrote it. */
  text: string;
  records: GdbRecord[];
  runtime: GoRuntimeReading;
}

/** Reads the runtime state of the (stopped) process pid through session; leaves gdb on the thread it was on. */
export async function snapshot(session: GdbSession, pid: number, options: { timeoutMs?: number } = {}): Promise<GoSnapshot> {
  const start = session.transcript().length;
  const run = (cmd: string) => session.run(cmd, options);
  const threads = await run("info threads");
  // A binary without DWARF (-ldflags=-s -w) has nothing to read beyond this first answer.
  const first = await run(RUNTIME_READS[0]);
  if (!/^No symbol table is loaded/m.test(first)) {
    for (const cmd of RUNTIME_READS.slice(1)) await run(cmd);
    const ids = [...threads.matchAll(/^[* ]\s*(\d+)\s+/gm)].map((m) => Number(m[1]));
    const current = threads.match(/^\*\s*(\d+)\s+/m)?.[1];
    await run("set language c");
    for (const id of ids) {
      await run(`thread ${id}`);
      for (const cmd of THREAD_READS) await run(cmd);
    }
    if (current !== undefined) await run(`thread ${current}`);
    await run("set language auto");
  }
  // The prompt that precedes the first command is part of the previous answer's text.
  const text = `(gdb) ${session.transcript().slice(start)}`;
  const records = parseGdbText(text);
  return { pid, text, records, runtime: readGoRuntime(records) };
}
