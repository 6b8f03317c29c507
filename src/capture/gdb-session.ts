import { createWriteStream, openSync, type WriteStream } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { spawn, type IPty } from "node-pty";
import { HarnessError } from "../errors.js";
import { onCleanup } from "../cleanup.js";
import { execWaitsOnZombies, isAlive } from "../runtime/procfs.js";
import { resolveTool } from "./tools.js";

// gdb's console interface driven through a pseudo-terminal: what the harness saves is
// exactly what a person pasting from their terminal would show (`(gdb) cmd` echoed, then
// the answer), so one parser (parse/gdb.ts) reads both. TERM=dumb keeps readline from
// writing escape sequences; the transcript goes byte for byte to `gdb.log` as it arrives,
// so a harness that dies mid-command still leaves what gdb said until then.

export const GDB_PROMPT = "(gdb) ";

// Set before the attach (-iex) so the attach's own output can never stop at a pager.
const INIT_SETTINGS = ["set pagination off", "set height 0", "set width 0", "set confirm off", "set style enabled off"];
/** Go preempts goroutines with SIGURG (runtime/preempt.go) and probes use SIGUSR1/2: stopping on them would stall every checkpoint. */
export const GO_SIGNAL_HANDLING = "handle SIGURG SIGUSR1 SIGUSR2 nostop noprint pass";

const DEFAULT_TIMEOUT_MS = 10_000;
/** How long gdb gets to come back to its prompt after a Ctrl-C before it is considered hung. */
const INTERRUPT_GRACE_MS = 3_000;
/**
 * An exec that still waits on its dead threads after this long is stuck on gdb: a healthy
 * one finishes in milliseconds. Measured: about one gate exec in 100–160 under gdb, at load
 * 8, sat in begin_new_exec with every other thread a zombie traced by gdb, which had said
 * "Couldn't get registers: No such process" (a thread gone under it) and gone back to its
 * prompt instead of reaping them, until the driver gave up 30 s later.
 */
const EXEC_STALL_MS = 5_000;
const EXEC_POLL_MS = 200;

export interface GdbAttachOptions {
  /** Where the raw transcript goes (the trial's `gdb.log`). */
  logPath: string;
  /** Bound on the attach itself (gdb start, symbol loading, first prompt). */
  timeoutMs?: number;
}

export interface CommandOptions {
  timeoutMs?: number;
}

/** How a `continue` ended: result-shaped, because a target that exits or never hits is evidence. */
export type ContinueOutcome =
  | { kind: "hit"; text: string }
  | { kind: "exited"; text: string }
  /** Stopped for something else, e.g. a signal gdb was told to stop on. */
  | { kind: "stopped"; text: string }
  /** Nothing happened within the bound: gdb was interrupted, the target is stopped again. */
  | { kind: "timeout"; text: string };

export interface GdbSession {
  readonly pid: number;
  /** The gdb command line, for the manifest. */
  readonly argv: readonly string[];
  /** Runs one console command and returns what gdb answered (without the echo and the prompt). */
  run(command: string, options?: CommandOptions): Promise<string>;
  /**
   * Sets a breakpoint at location (`runtime.sighandler if sig == 10` works), continues, and
   * waits (bounded) for a hit or the target's exit; on timeout the target is interrupted.
   * The breakpoint stays set: `run("delete")` when the checkpoint is done.
   */
  continueUntilBreakpoint(location: string, options?: CommandOptions): Promise<ContinueOutcome>;
  /** Lets the target run (`continue`) without waiting for a stop; interrupt() or detach() ends the run. */
  resume(options?: CommandOptions): Promise<void>;
  /**
   * After resume(): waits (bounded) until the target stops by itself — a breakpoint or
   * catchpoint set before, a signal, its exit — or interrupts it once timeoutMs is over.
   */
  waitForStop(options?: CommandOptions): Promise<ContinueOutcome>;
  /** Ctrl-C: stops a running target (after resume()) and returns what gdb said since; "" when it is stopped already. */
  interrupt(options?: CommandOptions): Promise<string>;
  /** Detaches, leaving the target running, and ends gdb. Idempotent; never throws. */
  detach(): Promise<void>;
  /** The transcript so far, as gdb wrote it. */
  transcript(): string;
  /** True while gdb still runs. */
  alive(): boolean;
  /** Why the harness ended gdb itself, when it did (e.g. an exec it held up); null otherwise. */
  endReason(): string | null;
}

/** Attaches gdb to a host PID; resolves at gdb's first prompt, with Go's signals set to pass. */
export async function attachGdb(pid: number, options: GdbAttachOptions): Promise<GdbSession> {
  const gdb = await resolveTool("gdb");
  const argv = [gdb, "-nx", "-q", ...INIT_SETTINGS.flatMap((s) => ["-iex", s]), "-p", String(pid)];
  let fd: number;
  try {
    fd = openSync(options.logPath, "w");
  } catch (err) {
    throw new HarnessError("TRIAL_FAILED", `cannot write the gdb transcript ${options.logPath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  const log = createWriteStream("", { fd });
  // encoding null: node-pty hands over the bytes, so the file gets them untouched even when a
  // value holds invalid UTF-8 (a Go string is any bytes); the text view decodes them apart.
  const pty = spawn(argv[0]!, argv.slice(1), { cols: 4096, rows: 24, encoding: null, env: { ...process.env, TERM: "dumb", LC_ALL: "C" } });
  const session = new PtyGdbSession(pid, argv, pty, log);
  const forget = onCleanup(() => session.detach());
  session.onEnd(forget);
  try {
    await session.attach(options.timeoutMs ?? 30_000);
    await session.run(GO_SIGNAL_HANDLING);
  } catch (err) {
    await session.detach();
    throw err;
  }
  return session;
}

class PtyGdbSession implements GdbSession {
  private text = "";
  /** Index in `text` where the output of the command in flight starts. */
  private mark = 0;
  /** Who waits for more output (a command in flight, and an interrupt() or detach() meanwhile). */
  private readonly waiters = new Set<() => void>();
  private exited = false;
  private readonly exit: Promise<void>;
  private endListeners: (() => void)[] = [];
  private detaching: Promise<void> | null = null;
  /** A command still running in gdb (a `continue`): the prompt has not come back. */
  private busy = false;

  constructor(
    readonly pid: number,
    readonly argv: readonly string[],
    private readonly pty: IPty,
    private readonly log: WriteStream,
  ) {
    // A full disk must not crash the harness; the transcript in memory still serves the trial.
    log.on("error", () => undefined);
    const decoder = new StringDecoder("utf8");
    // With encoding null node-pty emits Buffers, whatever its typings say.
    pty.onData((data: string | Buffer) => {
      const chunk = typeof data === "string" ? Buffer.from(data) : data;
      this.text += decoder.write(chunk);
      if (!log.writableEnded) log.write(chunk);
      for (const w of [...this.waiters]) w();
    });
    this.exit = new Promise((resolve) =>
      pty.onExit(() => {
        this.exited = true;
        for (const w of [...this.waiters]) w();
        for (const fn of this.endListeners) fn();
        resolve();
      }),
    );
  }

  onEnd(fn: () => void): void {
    this.endListeners.push(fn);
  }

  alive = (): boolean => !this.exited;
  endReason = (): string | null => this.ended;
  private ended: string | null = null;
  transcript = (): string => this.text;

  async attach(timeoutMs: number): Promise<void> {
    const ended = await this.waitFor(() => this.atPrompt() || this.exited, timeoutMs);
    const said = this.text;
    if (/ptrace: Operation not permitted/.test(said)) {
      throw new HarnessError(
        "PTRACE_DENIED",
        `gdb may not attach to PID ${this.pid} (Operation not permitted): another tracer (strace, gdb) may hold it; ` +
          "otherwise run as root, or allow ptrace (sysctl kernel.yama.ptrace_scope=0, or grant CAP_SYS_PTRACE)",
      );
    }
    if (/ptrace: No such process/.test(said)) throw new HarnessError("TRIAL_FAILED", `gdb cannot attach to PID ${this.pid}: no such process`);
    if (!ended) throw new HarnessError("TRIAL_FAILED", `gdb did not attach to PID ${this.pid} within ${timeoutMs} ms: ${tail(said)}`);
    if (this.exited) throw new HarnessError("TRIAL_FAILED", `gdb exited while attaching to PID ${this.pid}: ${tail(said)}`);
    if (!/^Attaching to process \d+/m.test(said) || /Could not attach|Don't know how to attach/.test(said)) {
      throw new HarnessError("TRIAL_FAILED", `gdb did not attach to PID ${this.pid}: ${tail(said)}`);
    }
  }

  async run(command: string, options: CommandOptions = {}): Promise<string> {
    if (/[\r\n]/.test(command)) throw new HarnessError("USAGE", `one gdb command at a time, without newlines: ${JSON.stringify(command)}`);
    this.requireReady(command);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.send(`${command}\n`);
    if (await this.waitFor(() => this.atPrompt() || this.exited, timeoutMs)) return this.answer(command);
    // A command that runs too long (a `continue`, a huge print) gets one Ctrl-C; a gdb
    // that does not come back from that is hung and is killed, never waited on forever.
    this.pty.write("\x03");
    const back = await this.waitFor(() => this.atPrompt() || this.exited, INTERRUPT_GRACE_MS);
    if (!back) await this.kill();
    throw new HarnessError(
      "TRIAL_FAILED",
      `gdb command "${command}" on PID ${this.pid} did not finish within ${timeoutMs} ms` +
        (back ? " (interrupted)" : " and gdb did not answer Ctrl-C (killed; the target is detached)") +
        `: ${tail(this.text.slice(this.mark))}`,
    );
  }

  async continueUntilBreakpoint(location: string, options: CommandOptions = {}): Promise<ContinueOutcome> {
    const set = await this.run(`break ${location}`);
    if (!/^Breakpoint \d+ at /m.test(set)) throw new HarnessError("TRIAL_FAILED", `gdb could not set a breakpoint at ${location}: ${tail(set)}`);
    this.requireReady("continue");
    this.send("continue\n");
    this.busy = true;
    return this.waitForStop(options);
  }

  async waitForStop(options: CommandOptions = {}): Promise<ContinueOutcome> {
    if (!this.busy) throw new HarnessError("USAGE", `gdb for PID ${this.pid} is not running the target: resume() first`);
    const stopped = await this.waitFor(() => this.atPrompt() || this.exited, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    if (stopped) {
      this.busy = false;
      const text = this.answer("continue");
      // A target killed while gdb resumes it (inserting breakpoints) leaves only "Command
      // aborted."; /proc tells whether it is gone (a zombie gdb has not reaped counts as gone).
      if (/^(?:\[Inferior \d+ \(process \d+\) exited|Program terminated with signal|The program no longer exists)/m.test(text) || this.exited || !(await isAlive(this.pid))) {
        return { kind: "exited", text };
      }
      return { kind: /hit (?:Temporary b|B)reakpoint \d+|^(?:Temporary b|B)reakpoint \d+, /m.test(text) ? "hit" : "stopped", text };
    }
    return { kind: "timeout", text: await this.interrupt() };
  }

  async resume(options: CommandOptions = {}): Promise<void> {
    this.requireReady("continue");
    this.send("continue\n");
    this.busy = true;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // gdb says "Continuing." once the threads run again; a prompt instead means it refused.
    const said = await this.waitFor(() => /^Continuing\.\r?$/m.test(this.text.slice(this.mark)) || this.atPrompt() || this.exited, timeoutMs);
    if (!said || this.atPrompt() || this.exited) {
      if (this.atPrompt()) this.busy = false;
      throw new HarnessError("TRIAL_FAILED", `gdb could not resume PID ${this.pid} within ${timeoutMs} ms: ${tail(this.text.slice(this.mark))}`);
    }
    void this.watchExec();
  }

  /**
   * While the target runs, breaks the deadlock of an exec that waits for gdb to reap its
   * dead threads while gdb waits for something else: gdb is killed, the kernel detaches
   * and releases the threads, the exec completes, and the session says why it ended.
   */
  private async watchExec(): Promise<void> {
    let since: number | null = null;
    while (this.busy && !this.exited) {
      await new Promise((r) => setTimeout(r, EXEC_POLL_MS).unref());
      if (!(await execWaitsOnZombies(this.pid))) {
        since = null;
        continue;
      }
      since ??= performance.now();
      if (performance.now() - since < EXEC_STALL_MS || !this.busy || this.exited) continue;
      const said = this.text.slice(this.mark).split(/\r?\n/).map((l) => l.trim()).filter((l) => l && l !== GDB_PROMPT.trim() && l !== "Continuing.").pop();
      this.ended = `the program's exec waited ${EXEC_STALL_MS} ms for gdb to reap its exited threads (a ptrace deadlock in exec${said ? `; gdb's last word: ${said}` : ""}): gdb was ended so the program could run`;
      await this.kill();
      return;
    }
  }

  async interrupt(options: CommandOptions = {}): Promise<string> {
    if (this.exited) throw new HarnessError("TRIAL_FAILED", `gdb for PID ${this.pid} has exited: ${tail(this.text)}`);
    // At the prompt the target is stopped already; a Ctrl-C there would only make gdb say "Quit".
    if (!this.busy) return "";
    this.pty.write("\x03");
    const back = await this.waitFor(() => this.atPrompt() || this.exited, options.timeoutMs ?? INTERRUPT_GRACE_MS);
    if (!back) {
      await this.kill();
      throw new HarnessError("TRIAL_FAILED", `gdb for PID ${this.pid} did not answer Ctrl-C within the bound (killed; the target is detached)`);
    }
    this.busy = false;
    return this.answer("");
  }

  detach(): Promise<void> {
    this.detaching ??= this.stop();
    return this.detaching;
  }

  private async stop(): Promise<void> {
    try {
      if (!this.exited && this.busy) await this.interrupt().catch(() => undefined);
      // ptrace detach resumes every thread; `quit` after it has nothing left to kill.
      if (!this.exited) await this.run("detach", { timeoutMs: 5_000 }).catch(() => undefined);
      if (!this.exited) {
        this.send("quit\n");
        await this.waitFor(() => this.exited, 3_000);
      }
    } finally {
      // A gdb that is gone takes its ptrace attachment with it: the kernel detaches tracees.
      await this.kill();
      // Bounded: a stream that failed may never report its end.
      await Promise.race([new Promise<void>((resolve) => this.log.end(resolve)), new Promise((r) => setTimeout(r, 2_000).unref())]);
    }
  }

  private async kill(): Promise<void> {
    if (this.exited) return;
    this.pty.kill("SIGKILL");
    await Promise.race([this.exit, new Promise((r) => setTimeout(r, 2_000).unref())]);
    // A gdb killed with its SIGSTOPs in flight (stopping every thread for an event) leaves
    // them pending; the kernel detaches the target and the next one stops it for good.
    // SIGCONT discards pending stops and resumes a stopped target.
    try {
      process.kill(this.pid, "SIGCONT");
    } catch {
      // gone already
    }
  }

  private requireReady(command: string): void {
    if (this.exited) throw new HarnessError("TRIAL_FAILED", `gdb for PID ${this.pid} has exited; cannot run "${command}": ${tail(this.text)}`);
    if (this.busy) throw new HarnessError("USAGE", `gdb for PID ${this.pid} is still running a command; interrupt() first`);
  }

  private send(line: string): void {
    this.mark = this.text.length;
    this.pty.write(line);
  }

  /** gdb prints its prompt only when it waits for input; nothing it prints ends with one otherwise. */
  private atPrompt(): boolean {
    return this.text.length > this.mark && this.text.endsWith(GDB_PROMPT) && (this.text.length === GDB_PROMPT.length || this.text.at(-GDB_PROMPT.length - 1) === "\n");
  }

  /** The answer of the command in flight: its output without the terminal's echo of it and the next prompt. */
  private answer(command: string): string {
    let out = this.text.slice(this.mark).replace(/\r\n/g, "\n");
    if (out.endsWith(GDB_PROMPT)) out = out.slice(0, -GDB_PROMPT.length);
    if (command !== "" && out.startsWith(`${command}\n`)) out = out.slice(command.length + 1);
    return out;
  }

  private waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = (): void => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(false);
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}

const tail = (s: string): string => s.replace(/\s+/g, " ").trim().slice(-300) || "(no output)";
