import { join } from "node:path";
import { spawn, type IPty } from "node-pty";
import { HarnessError } from "../errors.js";
import { describeStrace } from "../parse/describe.js";
import { StraceRecord } from "../parse/records.js";
import { parseStraceText } from "../parse/strace.js";
import { onCleanup } from "../cleanup.js";
import type { Observer } from "./observer.js";
import { resolveTool } from "./tools.js";

// strace runs under a pseudo-terminal: its "Process N attached" notes go to the terminal,
// which is how we know the attach is complete before releasing the gate, while the trace
// itself goes untouched to a file (-o) as the raw capture.
export const STRACE_ARGS = ["-f", "-ttt", "-T", "-y", "-s", "256"] as const;

export interface StraceAttachment {
  /** The command line that produced the capture, for the manifest. */
  readonly argv: string[];
  /** What strace said on its terminal (attach notes, errors). */
  transcript(): string;
  /** Resolves when strace exits by itself (all tracees gone) or null after timeoutMs. */
  waitExit(timeoutMs: number): Promise<number | null>;
  /** Detaches (SIGTERM, then SIGKILL) unless strace has exited already. */
  detach(): Promise<void>;
}

export async function attachStrace(pid: number, logPath: string, timeoutMs = 10_000): Promise<StraceAttachment> {
  const strace = await resolveTool("strace");
  const argv = [strace, ...STRACE_ARGS, "-o", logPath, "-p", String(pid)];
  const pty: IPty = spawn(argv[0]!, argv.slice(1), { cols: 200, rows: 24, env: { ...process.env, LC_ALL: "C" } });
  let transcript = "";
  let exitCode: number | null = null;
  const exited = new Promise<number>((resolve) =>
    pty.onExit(({ exitCode: code }) => {
      exitCode = code;
      resolve(code);
    }),
  );
  const forget = onCleanup(() => stopPty(pty, exited));

  const attached = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new HarnessError("TRIAL_FAILED", `strace did not attach to PID ${pid} within ${timeoutMs} ms: ${oneLine(transcript)}`)),
      timeoutMs,
    );
    pty.onData((chunk) => {
      transcript += chunk;
      if (/Process \d+ attached/.test(transcript)) {
        clearTimeout(timer);
        resolve();
      } else if (/Operation not permitted/.test(transcript)) {
        clearTimeout(timer);
        reject(
          new HarnessError(
            "PTRACE_DENIED",
            `strace may not attach to PID ${pid} (Operation not permitted): run as root, or allow ptrace (sysctl kernel.yama.ptrace_scope=0, or grant CAP_SYS_PTRACE)`,
          ),
        );
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new HarnessError("TRIAL_FAILED", `strace exited (${code}) before attaching to PID ${pid}: ${oneLine(transcript)}`));
    });
  });
  try {
    await attached;
  } catch (err) {
    await stopPty(pty, exited);
    forget();
    throw err;
  }

  return {
    argv,
    transcript: () => transcript,
    waitExit: (ms) =>
      exitCode !== null
        ? Promise.resolve(exitCode)
        : Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), ms).unref())]),
    detach: async () => {
      await stopPty(pty, exited);
      forget();
    },
  };
}

async function stopPty(pty: IPty, exited: Promise<number>): Promise<void> {
  const gone = (ms: number) => Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
  if (await gone(0)) return;
  // SIGTERM makes strace detach cleanly, leaving the tracee running untraced.
  pty.kill("SIGTERM");
  if (await gone(2_000)) return;
  pty.kill("SIGKILL");
  await gone(2_000);
}

const oneLine = (s: string): string => s.replace(/\s+/g, " ").trim().slice(0, 300) || "(no output)";

const STRACE_LOG = "strace.log";

/** strace as an observer: ptrace, every syscall and signal of the tree, at a cost the trials measure. */
export const straceObserver: Observer<StraceRecord> = {
  name: "strace",
  summary: "ptrace through node-pty: every syscall, signal and exit of the process tree (slows the program; the observer effect is measured)",
  needs: async () => {
    await resolveTool("strace");
  },
  async attach(target) {
    const attachment = await attachStrace(target.gatePid, join(target.dir, STRACE_LOG));
    return {
      describe: () => ({ argv: attachment.argv }),
      // strace exits by itself once every tracee is gone; only a survivor needs detaching.
      detach: async () => {
        await attachment.waitExit(5_000);
        await attachment.detach();
      },
    };
  },
  rawFiles: [STRACE_LOG],
  parse: (raw) => (raw[STRACE_LOG] === undefined ? [] : parseStraceText(raw[STRACE_LOG])),
  record: StraceRecord,
  describe: describeStrace,
  timeUs: (r) => r.tsUs,
  pid: (r) => r.pid,
};
