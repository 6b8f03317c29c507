import { HarnessError } from "../errors.js";
import type { Observer, ObserverName } from "./observer.js";
import { createGdbObserver } from "./gdb.js";
import { kernelObserver } from "./kernel.js";
import { straceObserver } from "./strace.js";

// Every observer the harness has, by name: the trial attaches them, evidence loading
// parses their raw files, doctor asks what they need.
// `any`: each observer has its own record type; the registry only hands them back to their observer.
export const OBSERVERS: Partial<Record<ObserverName, Observer<any>>> = {
  strace: straceObserver,
  kernel: kernelObserver,
  gdb: createGdbObserver(),
};

export function observerFor(name: ObserverName): Observer<unknown> {
  const observer = OBSERVERS[name];
  if (!observer) throw new HarnessError("USAGE", `the ${name} observer is not available in this build of forensics`);
  return observer;
}
