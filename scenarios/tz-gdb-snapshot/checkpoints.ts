import type { GdbAttachment } from "../../src/capture/gdb.js";
import type { TrialHookContext } from "../../src/scenario/define.js";

// The gdb side of a trial: the probe holds before its first use of time.Local; gdb attaches
// meanwhile, stops at main.checkpoint before and after that use and prints time.localLoc
// (time/zoneinfo.go: the Location time.Local points at), and asks whether the symbols the
// seed names exist. Everything it sees lands in gdb.log and runtime.jsonl; nothing is judged here.

export const CHECKPOINTS = ["before-first-use", "after-first-use"] as const;
export const LOCAL_LOC = "'time.localLoc'";
/** The seed's breakpoint (§2.4), and where Go really has it (runtime/timestub.go: linkname time.now). */
export const SYMBOL_QUERIES = ["^runtime\\.time\\.now$", "^time\\.now$"] as const;
const STOP_TIMEOUT_MS = 8_000;
const MAX_STOPS = 4;
/** main.checkpoint's parameter: which checkpoint a stop is. */
export const CHECKPOINT_ARG = "name";

export async function readLocalLoc(ctx: TrialHookContext): Promise<void> {
  const gdb = ctx.attachments.gdb as GdbAttachment | undefined;
  if (!gdb) return;
  const session = await gdb.session();
  for (const query of SYMBOL_QUERIES) await ctx.note("symbols", { query, answer: await session.run(`info functions ${query}`) });
  // The same checkpoint can stop twice (Go may restart a function after growing its stack,
  // measured: a second hit on another thread with time.localLoc still empty), so every stop
  // prints which checkpoint it is, and the analysis pairs each snapshot with that name.
  for (let stops = 0; stops < MAX_STOPS; stops++) {
    const stop = await session.continueUntilBreakpoint("main.checkpoint", { timeoutMs: STOP_TIMEOUT_MS });
    await ctx.note("checkpoint", { outcome: stop.kind });
    if (stop.kind !== "hit") break;
    const name = await session.run(`p ${CHECKPOINT_ARG}`);
    await session.run(`p ${LOCAL_LOC}`);
    if (name.includes(CHECKPOINTS[1])) break;
  }
  await session.detach();
}
