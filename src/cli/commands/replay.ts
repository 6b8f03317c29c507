import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { HarnessError } from "../../errors.js";
import { runReplayApp } from "../../tui/app.js";
import { openReplay } from "../../tui/open.js";
import { ReplaySession } from "../../tui/session.js";

export interface ReplayFlags {
  mouse: boolean;
  copyDir?: string;
}

export function register(program: Command): void {
  program
    .command("replay")
    .argument("<bundle>", "a bundle directory (traces/<run-id>) or its .tar.gz export")
    .description("replay a bundle's evidence in the terminal: every observer's records on one timeline, findings, causal chains (no Docker, Go, strace or gdb needed)")
    .option("--no-mouse", "leave the mouse to the terminal (selection, scrollback)")
    .option("--copy-dir <dir>", "where y/Y write their Markdown copies (default: the temp dir)")
    .addHelpText("after", "\nKeys: ? inside the replay. Examples:\n  forensics replay traces/sigterm-race-20261130T084602Z-903dd7\n  forensics replay bundle.tar.gz --no-mouse")
    .action(async (target: string, flags: ReplayFlags) => {
      await replayBundle(target, flags);
    });
}

/** Opens, verifies and replays a bundle; shared with `run --replay`. */
export async function replayBundle(target: string, flags: ReplayFlags): Promise<void> {
  if (!process.stdout.isTTY || !process.stdin.isTTY) throw new HarnessError("USAGE", "replay needs a terminal (stdin and stdout a TTY); for scripts use the bundle's evidence.json and evidence/");
  // Verifying a big bundle takes a while (every sha256): say so. The manifest lists every size.
  const listed = await readFile(join(target, "manifest.json"), "utf8")
    .then((text) => ((JSON.parse(text) as { files?: { bytes?: unknown }[] }).files ?? []).reduce((sum, f) => sum + (typeof f.bytes === "number" ? f.bytes : 0), 0))
    .catch(() => null);
  const big = listed !== null ? listed > 200e6 : ((await stat(target).catch(() => null))?.size ?? 0) > 5e6;
  if (big) process.stderr.write(`forensics: verifying and reading ${target}…\n`);
  const opened = await openReplay(target);
  try {
    if (opened.trials.length === 0) throw new HarnessError("BAD_BUNDLE", `${target}: the bundle holds no trial`);
    await runReplayApp(new ReplaySession(opened), { mouse: flags.mouse, copyDir: flags.copyDir });
  } finally {
    await opened.close();
  }
}
