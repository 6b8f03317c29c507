import type { GdbAttachment } from "../../src/capture/gdb.js";
import { isHarnessError } from "../../src/errors.js";
import type { TrialHookContext } from "../../src/scenario/define.js";
import { TZ_VALUES } from "./axes.js";

// A user's program reports no zone. gdb reads the one it uses: 'time.localLoc'
// (time/zoneinfo.go, the Location time.Local points at, filled by initLocal at the first
// use) and the zone cached for now in it, at the program's exit_group — all of its memory
// is still there — or, for a program that keeps running, once ZONE_WAIT_MS has passed.
// gdb attaches to the gate before the release and follows its exec into the program.

export const LOCAL_LOC = "'time.localLoc'";
export const LOCAL_ZONE = "*'time.localLoc'.cacheZone";
const ZONE_WAIT_MS = 3_000;

/** beforeRelease: the TZ the program will see (the axis's, else the image's own), and gdb waiting for its exit. */
export async function watchZone(ctx: TrialHookContext): Promise<void> {
  if (ctx.target.kind === "probe") return;
  const axis = TZ_VALUES[typeof ctx.variant.tz === "string" ? ctx.variant.tz : "unset"] ?? null;
  const image = ctx.target.env.find((e) => e.startsWith("TZ="))?.slice(3) ?? null;
  await ctx.note("tz-env", axis !== null ? { TZ: axis, from: "axis" } : image !== null ? { TZ: image, from: "image" } : { TZ: null, from: null });
  const gdb = ctx.attachments.gdb as GdbAttachment | undefined;
  if (!gdb) return;
  try {
    const session = await gdb.session();
    await session.run("catch syscall exit_group");
    await session.resume();
  } catch (err) {
    // gdb's trouble is this trial's evidence (the zone stays unseen), not a harness fault;
    // detached, the gate runs free to its release.
    await ctx.note("zone-read", { problem: problemOf(err) });
    await gdb.detach().catch(() => undefined);
  }
}

/** afterSends: at the exit (or after the wait) print the zone, detach; a program still running has said what it uses and is ended. */
export async function readZone(ctx: TrialHookContext): Promise<void> {
  const gdb = ctx.attachments.gdb as GdbAttachment | undefined;
  if (ctx.target.kind === "probe" || !gdb) return;
  let stop: { kind: string } = { kind: "exited" };
  try {
    const session = await gdb.session();
    // Asked first: gdb ended by the harness may not have reported its exit yet.
    const why = session.endReason();
    if (why !== null) await ctx.note("zone-read", { problem: why });
    if (why !== null || !session.alive()) return;
    stop = await session.waitForStop({ timeoutMs: ZONE_WAIT_MS });
    await ctx.note("zone-read", { at: stop.kind === "timeout" ? "still running" : stop.kind === "exited" ? "after the exit" : "exit_group" });
    if (stop.kind !== "exited") {
      await session.run(`p ${LOCAL_LOC}`);
      await session.run(`p ${LOCAL_ZONE}`);
    }
  } catch (err) {
    await ctx.note("zone-read", { problem: problemOf(err) });
  } finally {
    await gdb.detach().catch(() => undefined);
  }
  if (stop.kind === "timeout") {
    await ctx.note("end", { signal: "SIGKILL", reason: "a user's program still running once its zone was read" });
    await ctx.container.signal("SIGKILL");
  }
}

const problemOf = (err: unknown): string => (isHarnessError(err) ? `${err.code}: ${err.message}` : String(err));
