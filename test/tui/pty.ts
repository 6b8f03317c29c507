// Drives the built CLI in a real pseudo-terminal and reads the screen the way a user sees
// it, through a headless xterm. Waits are for screen content, never fixed sleeps.

import { join } from "node:path";
import xterm from "@xterm/headless";
import * as pty from "node-pty";
import { findPackageRoot } from "../../src/probe/package-root.js";

const BIN = join(findPackageRoot(), "bin", "forensics.js");

export interface Tty {
  /** The screen as text, one string per row (trailing spaces trimmed). */
  rows(): string[];
  text(): string;
  /** Everything the program wrote, raw (escape sequences included). */
  output(): string;
  send(keys: string): void;
  resize(cols: number, rows: number): void;
  /** Resolves once the screen satisfies `test`; rejects after `ms` with the screen in the message. */
  waitFor(test: string | RegExp | ((screen: string) => boolean), ms?: number): Promise<string>;
  /** The cell attributes of the first occurrence of `text` on screen. */
  cellAt(text: string): { inverse: boolean; bold: boolean; fg: number; bg: number; underline: boolean } | null;
  exited: Promise<{ exitCode: number; signal?: number }>;
  kill(): void;
}

export function startTty(args: string[], opts: { cols?: number; rows?: number; env?: Record<string, string> } = {}): Tty {
  const cols = opts.cols ?? 100;
  const rows = opts.rows ?? 30;
  const term = new xterm.Terminal({ cols, rows, allowProposedApi: true });
  const env = { ...process.env, TERM: "xterm-256color", ...opts.env } as Record<string, string>;
  delete (env as Record<string, string | undefined>).NO_COLOR;
  if (opts.env?.NO_COLOR !== undefined) env.NO_COLOR = opts.env.NO_COLOR;
  const child = pty.spawn(process.execPath, [BIN, ...args], { name: env.TERM!, cols, rows, cwd: findPackageRoot(), env });
  let raw = "";
  const listeners = new Set<() => void>();
  child.onData((d) => {
    raw += d;
    term.write(d, () => listeners.forEach((l) => l()));
  });
  const exited = new Promise<{ exitCode: number; signal?: number }>((resolve) => child.onExit((e) => resolve(e)));
  const rowsNow = (): string[] => {
    const buf = term.buffer.active;
    const out: string[] = [];
    for (let y = 0; y < term.rows; y++) out.push(buf.getLine(buf.viewportY + y)?.translateToString(true) ?? "");
    return out;
  };
  const text = () => rowsNow().join("\n");
  return {
    rows: rowsNow,
    text,
    output: () => raw,
    send: (keys) => child.write(keys),
    resize: (c, r) => {
      term.resize(c, r);
      child.resize(c, r);
    },
    waitFor(test, ms = 10_000) {
      const ok = (s: string) => (typeof test === "string" ? s.includes(test) : test instanceof RegExp ? test.test(s) : test(s));
      return new Promise((resolve, reject) => {
        const check = () => {
          const s = text();
          if (ok(s)) {
            cleanup();
            resolve(s);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${String(test)}; screen:\n${text()}`));
        }, ms);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void exited.then(() => setTimeout(check, 50));
        check();
      });
    },
    cellAt(needle) {
      const buf = term.buffer.active;
      for (let y = 0; y < term.rows; y++) {
        const line = buf.getLine(buf.viewportY + y);
        const s = line?.translateToString(false) ?? "";
        const x = s.indexOf(needle);
        if (x < 0 || !line) continue;
        const cell = line.getCell(x)!;
        return { inverse: cell.isInverse() !== 0, bold: cell.isBold() !== 0, fg: cell.getFgColor(), bg: cell.getBgColor(), underline: cell.isUnderline() !== 0 };
      }
      return null;
    },
    exited,
    kill: () => child.kill(),
  };
}
