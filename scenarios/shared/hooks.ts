import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { Container } from "../../src/runtime/runtime.js";
import { parseProbeText } from "../../src/parse/probe.js";
import type { ProbeEvent } from "../../src/parse/records.js";

// What trial hooks of the signal scenarios do while a trial runs: wait (bounded) for the
// probe to report an event, and find the program's host PID under an init.

/** Polls the container's stdout until the probe reports `ev`; null when it did not within timeoutMs or the container ended. */
export async function waitForProbeEvent(container: Container, ev: string, timeoutMs: number): Promise<ProbeEvent | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { stdout } = await container.logs();
    const found = parseProbeText(stdout).find((r): r is ProbeEvent => r.kind === "probe" && r.ev === ev);
    if (found) return found;
    if (Date.now() > deadline || (await container.wait(0)) !== null) return null;
    await sleep(20);
  }
}

/** The first child of a host PID (an init's program), polled for up to timeoutMs; null when none appeared. */
export async function firstChildPid(pid: number, timeoutMs = 2_000): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8").catch(() => "");
    const child = Number(text.trim().split(/\s+/)[0]);
    if (Number.isInteger(child) && child > 0) return child;
    if (Date.now() > deadline) return null;
    await sleep(10);
  }
}

/** The program's host PID: the gate's under no init or docker-init (the gate execs it), PID 1's child under tini and dumb-init. */
export async function programPid(init: string, gatePid: number): Promise<number | null> {
  return init === "tini" || init === "dumb-init" ? firstChildPid(gatePid) : gatePid;
}
