import { mkdtemp, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProbe } from "../../src/probe/build.js";
import { isGateBlocked } from "../../src/runtime/procfs.js";

// The gate's promise: whatever signal state it inherits, the command it execs starts with
// nothing blocked, nothing ignored, nothing caught. sigdirty (go-probes/testhelpers) hands
// it junk on purpose; /proc/PID/status shows what the exec'd command really got.

const BLOCKED = [1, 10, 15]; // SIGHUP, SIGUSR1, SIGTERM
const IGNORED = [1, 2, 15]; // SIGHUP, SIGINT, SIGTERM
const mask = (sigs: number[]) => sigs.reduce((m, s) => m | (1n << BigInt(s - 1)), 0n);

let gate: string;
let sigdirty: string;
let dir: string;

beforeAll(async () => {
  [gate, sigdirty] = await Promise.all([buildProbe("gate"), buildProbe("testhelpers/sigdirty")]).then((b) => b.map((p) => p.path)) as [string, string];
  dir = await mkdtemp(join(tmpdir(), "forensics-gate-test-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface SignalState {
  blk: bigint;
  ign: bigint;
  cgt: bigint;
}

async function readSignalState(pid: number): Promise<SignalState> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => BigInt(`0x${status.match(new RegExp(`^${name}:\\s*([0-9a-f]+)$`, "m"))?.[1] ?? "x"}`);
  return { blk: field("SigBlk"), ign: field("SigIgn"), cgt: field("SigCgt") };
}

async function waitFor(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

const exeIs = (pid: number, name: string) => async () => basename(await readlink(`/proc/${pid}/exe`).catch(() => "")) === name;

async function makeFifo(name: string): Promise<string> {
  const fifo = join(dir, name);
  await execa("mkfifo", [fifo]);
  return fifo;
}

/** sigdirty blocks BLOCKED and ignores IGNORED, then execs argv. */
const startDirty = (argv: string[]) =>
  execa(sigdirty, ["-block", BLOCKED.join(","), "-ignore", IGNORED.join(","), "--", ...argv], { reject: false });

describe("gate", () => {
  it("execs the command with an empty signal mask and default dispositions", async () => {
    const fifo = await makeFifo("clean.fifo");
    const subject = startDirty([gate, fifo, "--", "/bin/sleep", "5"]);
    const pid = subject.pid ?? 0;
    try {
      await waitFor("the gate blocks on its FIFO", () => isGateBlocked(pid, "gate"));
      const inherited = await readSignalState(pid);
      expect(inherited.blk | inherited.ign, "the junk reached the gate").not.toBe(0n);

      // Opening the read end releases the gate; its O_CLOEXEC write end closes in execve,
      // so the reader's EOF marks the exec. A successful gate writes nothing.
      const released = await execa("cat", [fifo], { timeout: 10_000 });
      expect(released.stdout).toBe("");
      await waitFor("/bin/sleep runs in the gate's PID", exeIs(pid, "sleep"));

      expect(await readSignalState(pid)).toEqual({ blk: 0n, ign: 0n, cgt: 0n });
    } finally {
      subject.kill("SIGKILL");
      await subject;
    }
  });

  it("without the gate, the same junk survives the exec (the control that lets the test above fail)", async () => {
    const subject = startDirty(["/bin/sleep", "5"]);
    const pid = subject.pid ?? 0;
    try {
      await waitFor("/bin/sleep runs", exeIs(pid, "sleep"));
      const state = await readSignalState(pid);
      expect(state.blk).toBe(mask(BLOCKED));
      expect(state.ign & mask(IGNORED)).toBe(mask(IGNORED));
    } finally {
      subject.kill("SIGKILL");
      await subject;
    }
  });

  it("writes the exec error into the FIFO and exits 127 when the command does not exist", async () => {
    const fifo = await makeFifo("missing.fifo");
    const subject = execa(gate, [fifo, "--", "/nonexistent/forensics-command"], { reject: false });
    const released = await execa("cat", [fifo], { timeout: 10_000 });
    expect(released.stdout).toBe("gate: exec /nonexistent/forensics-command: no such file or directory");
    expect((await subject).exitCode).toBe(127);
  });
});
