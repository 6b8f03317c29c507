// The kernel observer's two tracefs instances for a trial, and how long they live.
//
// Making an instance (~40 ms: tracefs mirrors every event of the kernel into it) and
// removing one (~65 ms: the kernel waits out a grace period before it frees the buffers)
// cost a trial ~215 ms for its pair, measured on Linux 6.18: more than the rest of what
// the observer does. A caller that attaches again for later trials (a run: target.reuse)
// gets its pair back for the next one. Between trials a pair records nothing (tracing_on
// 0, and the signals instance's filter matches no signal) and keeps its events enabled, so
// nothing is unregistered either; release() removes it.
//
// Replacing a pid list also waits out a grace period (~90 ms) before the kernel frees the
// old list; writing a list where there is none does not. So a resting pair's list is
// cleared in the background, while the caller finishes its trial and starts the next.

import { onCleanup } from "../cleanup.js";
import { createInstance, openTracePipe, type TracefsInstance, type TracePipe } from "./tracefs.js";

export interface InstancePair {
  readonly tree: TracefsInstance;
  readonly signals: TracefsInstance;
  readonly treePipe: TracePipe;
  readonly signalsPipe: TracePipe;
  /** Events enabled in the tree instance, as group/event. */
  readonly treeEnabled: Set<string>;
}

export interface PairSettings {
  clock: string;
  bufferKb: { tree: number; signals: number };
}

/** What a resting pair's signals filter says: no signal has number 0. */
export const NO_SIGNAL_FILTER = "sig == 0";

/** Resting pairs; `ready` resolves once the pid list is cleared (false: it could not be). */
const idle: { pair: InstancePair; ready: Promise<boolean> }[] = [];
let forgetCleanup: (() => void) | null = null;

/** A resting pair when there is one (reused: true), else a new one named `name` and `name`-signals. */
export async function takePair(root: string, name: string, settings: PairSettings): Promise<{ pair: InstancePair; reused: boolean }> {
  const rested = idle.pop();
  if (rested !== undefined) {
    if (await rested.ready) return { pair: rested.pair, reused: true };
    await removePair(rested.pair);
  }
  const made: TracefsInstance[] = [];
  const pipes: TracePipe[] = [];
  try {
    for (const [instanceName, kb] of [[name, settings.bufferKb.tree], [`${name}-signals`, settings.bufferKb.signals]] as const) {
      const instance = await createInstance(root, instanceName);
      made.push(instance);
      await instance.write("trace_clock", settings.clock);
      await instance.write("buffer_size_kb", String(kb));
      pipes.push(await openTracePipe(instance.dir));
    }
    await made[0]!.write("options/event-fork", "1");
    return { pair: { tree: made[0]!, signals: made[1]!, treePipe: pipes[0]!, signalsPipe: pipes[1]!, treeEnabled: new Set() }, reused: false };
  } catch (err) {
    await destroyPair({ instances: made, pipes });
    throw err;
  }
}

/**
 * Puts a pair to rest for the next trial; the caller has stopped its recording, drained
 * its pipes and disabled what belonged to its trial alone.
 */
export function restPair(pair: InstancePair): void {
  forgetCleanup ??= onCleanup(releasePairs);
  const ready = pair.tree.write("set_event_pid", "").then(
    () => true,
    () => false,
  );
  idle.push({ pair, ready });
}

/** Removes a pair: its readers first (an open trace_pipe keeps rmdir busy). Never throws. */
export const removePair = (pair: InstancePair): Promise<void> =>
  destroyPair({ instances: [pair.tree, pair.signals], pipes: [pair.treePipe, pair.signalsPipe] });

/** Removes every resting pair: at the end of a run, and on Ctrl-C. */
export async function releasePairs(): Promise<void> {
  forgetCleanup?.();
  forgetCleanup = null;
  for (const { pair, ready } of idle.splice(0)) {
    await ready;
    await removePair(pair);
  }
}

async function destroyPair(parts: { instances: TracefsInstance[]; pipes: TracePipe[] }): Promise<void> {
  for (const pipe of parts.pipes) await pipe.close().catch(() => undefined);
  for (const instance of parts.instances) await instance.remove();
}
