import { createDockerRuntime } from "./docker.js";
import { createNamespaceRuntime } from "./namespace.js";
import type { Runtime, RuntimeKind } from "./runtime.js";

/** Host programs a runtime launches, built by the caller: the runtime never builds probes. */
export interface RuntimeLaunchers {
  /** Host path of go-probes/nsrun. */
  nsrun(): Promise<string>;
}

export function createRuntime(kind: RuntimeKind, launchers: RuntimeLaunchers): Runtime {
  return kind === "docker" ? createDockerRuntime() : createNamespaceRuntime(launchers.nsrun);
}
