import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { describeThreads } from "../../src/runtime/procfs.js";

// describeThreads is what a hung trial's error says about the gate; read on a real process
// in the states that matter: parked in a sleep, stopped by SIGSTOP, gone.
describe("describeThreads", () => {
  it("says where a live process waits, that a stopped one is stopped, and that a reaped one is gone", async () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    await once(child, "spawn");
    const pid = child.pid!;
    try {
      await expect.poll(() => describeThreads(pid)).toMatch(new RegExp(`^PID ${pid} threads: ${pid} sleeping( in \\w+)?$`));
      process.kill(pid, "SIGSTOP");
      // wchan reads 0 where the kernel hides it; the state letter is always there.
      await expect.poll(() => describeThreads(pid)).toMatch(new RegExp(`^PID ${pid} threads: ${pid} stopped( in do_signal_stop)?$`));
    } finally {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
    expect(await describeThreads(pid)).toBe(`PID ${pid} is gone`);
  });
});
