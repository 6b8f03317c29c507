// start() of every runtime ends here: a container counts as started only when the gate is
// blocked on its FIFO, so a tracer attached after start() misses nothing of the program.

import { basename } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { HarnessError } from "../errors.js";
import { isGateBlocked } from "./procfs.js";
import { GATE_PATH } from "./runtime.js";

export interface GateWatch {
  /** Host PID of the gate, or null while it does not exist yet (docker-init forks it). */
  gatePid(): Promise<number | null>;
  /** The container's stderr once it has ended, or null while it still runs. */
  ended(): Promise<string | null>;
}

const POLL_MS = 2;

export async function waitForGate(watch: GateWatch, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pid = await watch.gatePid();
    if (pid !== null && (await isGateBlocked(pid, basename(GATE_PATH)))) return;
    const stderr = await watch.ended();
    if (stderr !== null) {
      throw new HarnessError(
        "TRIAL_FAILED",
        `the container's entrypoint exited before the gate was released: ${stderr.trim() || "(no output on stderr)"}`,
      );
    }
    if (Date.now() > deadline) {
      throw new HarnessError("TRIAL_FAILED", `the gate was not waiting on its FIFO ${timeoutMs} ms after the container started (pid ${pid ?? "unknown"})`);
    }
    await sleep(POLL_MS);
  }
}
