import { removeDebris } from "./debris.js";
import { createDockerRuntime } from "./docker.js";
import { createNamespaceRuntime } from "./namespace.js";
import type { Runtime, RuntimeKind } from "./runtime.js";

/**
 * The runtime of that kind. `sweep()` is what run.ts calls before its first trial, until it
 * calls removeDebris() itself: it removes the debris of dead harnesses in every runtime, not
 * only this one's (a SIGKILLed docker run's container must not outlive its run dir), and
 * counts it.
 */
export function createRuntime(kind: RuntimeKind): Runtime & { sweep(): Promise<number> } {
  const runtime = kind === "docker" ? createDockerRuntime() : createNamespaceRuntime();
  return { ...runtime, sweep: async () => (await removeDebris()).length };
}
