import { createDockerRuntime } from "./docker.js";
import { createNamespaceRuntime } from "./namespace.js";
import type { Runtime, RuntimeKind } from "./runtime.js";

export function createRuntime(kind: RuntimeKind): Runtime {
  return kind === "docker" ? createDockerRuntime() : createNamespaceRuntime();
}
