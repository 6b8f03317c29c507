import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { describeThreads, execWaitsOnZombies } from "../../src/runtime/procfs.js";
import { buildStaticC } from "../support/programs.js";

// What a hung trial's error says about the gate, and how gdb's watchdog tells an exec stuck
// on its tracer: read on real processes in the states that matter.
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

describe("execWaitsOnZombies", () => {
  it("is true while an exec waits for a tracer that does not reap, false once the tracer is gone and the exec done", async () => {
    const tracer = spawn(await buildStaticC("execstall"), [], { stdio: ["ignore", "pipe", "inherit"] });
    let pid = 0;
    try {
      const [line] = (await once(tracer.stdout!, "data")) as [Buffer];
      pid = Number(line.toString().trim());
      await expect.poll(() => execWaitsOnZombies(pid), { timeout: 10_000 }).toBe(true);
      expect(await describeThreads(pid)).toMatch(new RegExp(`^PID ${pid} threads: ${pid} in uninterruptible wait in begin_new_exec \\(traced by ${tracer.pid}\\); \\d+ a zombie \\(traced by ${tracer.pid}\\)$`));
      tracer.kill("SIGKILL");
      await expect.poll(async () => (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0")[0], { timeout: 10_000 }).toBe("/bin/sleep");
      expect(await execWaitsOnZombies(pid)).toBe(false);
    } finally {
      tracer.kill("SIGKILL");
      // The child (waiting killably in its exec, or running on as sleep) goes too.
      try {
        if (pid > 0) process.kill(pid, "SIGKILL");
      } catch {
        // reaped already
      }
    }
  });
});
