// Everything a trial starts registers an undo here, so Ctrl-C, a failed trial or a thrown
// harness error removes it; runCleanups is idempotent and runs newest first.

/** How long an interrupted step may take to notice the shutdown before its bundle is finished and what it started is removed anyway. */
export const SHUTDOWN_SETTLE_MS = 5_000;

type Cleanup = () => Promise<void> | void;

const pending = new Map<number, Cleanup>();
let nextId = 0;
let shuttingDown = false;

/** Marks the process as stopping (Ctrl-C, SIGTERM): long work checks this and gives up at its next step. */
export function beginShutdown(): void {
  shuttingDown = true;
}

export const isShuttingDown = (): boolean => shuttingDown;

/**
 * Registers an undo; call the returned function once the thing is gone by other means.
 * Once the process is stopping, the undo runs at once: a step that had not yet noticed the
 * shutdown must not start a container, driver or tracer that only a later pass removes.
 */
export function onCleanup(fn: Cleanup): () => void {
  if (shuttingDown) {
    void Promise.resolve()
      .then(fn)
      .catch(() => {});
    return () => {};
  }
  const id = nextId++;
  pending.set(id, fn);
  return () => {
    pending.delete(id);
  };
}

export async function runCleanups(): Promise<void> {
  const fns = [...pending.entries()].reverse();
  pending.clear();
  for (const [, fn] of fns) {
    try {
      await fn();
    } catch {
      // One failed undo must not keep the others from running.
    }
  }
}
