import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import blessed from "blessed";
import { onCleanup } from "../cleanup.js";
import { osc52 } from "./copy.js";
import { handleKey, normalizeKey } from "./keys.js";
import { makeRawLocator } from "./raw-location.js";
import type { ReplaySession } from "./session.js";
import { compareLandmarks, compareLines, compareTitle, detailLines, findingsLines, headerLines, helpLines, histogramLine, layout, statusLine, timelineLines, type Line, type Style } from "./view-model.js";

// The only file that knows blessed: boxes whose content is the view model's lines, keys
// fed to handleKey, a timer for playback. The timeline box holds only the rows on screen.

export interface AppOptions {
  mouse: boolean;
  /** Where copies are written (besides OSC 52). */
  copyDir?: string;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** Overrides $TERM (tests, fallbacks). */
  terminal?: string;
  /** Called after each key's redraw with how long handling and drawing took (the bench's probe). */
  onFrame?: (key: string, ms: number) => void;
}

const COLOR: Record<Style, string> = {
  cursor: "inverse",
  hit: "black-fg}{yellow-bg",
  mark: "cyan-fg}{bold",
  dim: "gray-fg",
  bold: "bold",
  failed: "red-fg",
  signal: "yellow-fg",
  cited: "magenta-fg",
  interval: "blue-fg}{bold",
  paused: "inverse}{bold",
  playing: "black-fg}{green-bg",
  partial: "white-fg}{red-bg}{bold",
  title: "inverse}{bold",
  confirmed: "green-fg",
  refuted: "red-fg",
  inconclusive: "yellow-fg",
};
// NO_COLOR (no-color.org): attributes only.
const MONO: Record<Style, string> = {
  cursor: "inverse",
  hit: "underline",
  mark: "bold",
  dim: "",
  bold: "bold",
  failed: "",
  signal: "",
  cited: "",
  interval: "bold",
  paused: "inverse}{bold",
  playing: "inverse",
  partial: "inverse}{bold",
  title: "inverse}{bold",
  confirmed: "",
  refuted: "",
  inconclusive: "",
};

const tagEscape = (s: string): string => s.replace(/[{}]/g, (c) => (c === "{" ? "{open}" : "{close}"));

export function toTags(lines: Line[], mono: boolean): string {
  const table = mono ? MONO : COLOR;
  return lines
    .map((line) =>
      line
        .map((sp) => {
          const t = sp.style ? table[sp.style] : "";
          return t ? `{${t}}${tagEscape(sp.text)}{/}` : tagEscape(sp.text);
        })
        .join(""),
    )
    .join("\n");
}

function makeScreen(options: AppOptions): blessed.Widgets.Screen {
  const base = {
    smartCSR: true,
    fullUnicode: false,
    warnings: false,
    autoPadding: false,
    title: "forensics replay",
    input: options.input,
    output: options.output,
    // Ctrl-C is a key like any other here; SIGINT stays main's.
    ignoreLocked: ["C-c"],
  } as blessed.Widgets.IScreenOptions;
  const term = options.terminal ?? process.env.TERM ?? "xterm";
  try {
    return blessed.screen({ ...base, terminal: term });
  } catch {
    // Some terminfo entries trip blessed's compiler (xterm-256color's Setulc on some hosts): plain xterm always works.
    return blessed.screen({ ...base, terminal: "xterm" });
  }
}

/** Runs the replay until the user quits; resolves when the terminal is restored. */
export function runReplayApp(session: ReplaySession, options: AppOptions): Promise<void> {
  const mono = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "";
  const raw = makeRawLocator(session.data.dir);
  const screen = makeScreen(options);
  let destroyed = false;
  const restore = () => {
    if (destroyed) return;
    destroyed = true;
    try {
      screen.program.disableMouse();
      screen.destroy();
    } catch {
      // The terminal may already be gone.
    }
  };
  const unregister = onCleanup(restore);
  const onCrash = (err: unknown) => {
    restore();
    process.stderr.write(`forensics: replay crashed (a bug; please report it with this trace):\n${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  };
  process.on("uncaughtException", onCrash);
  process.on("unhandledRejection", onCrash);
  process.on("exit", restore);

  const box = (opts: blessed.Widgets.BoxOptions) => blessed.box({ parent: screen, tags: true, wrap: false, ...opts } as blessed.Widgets.BoxOptions);
  const header = box({ top: 0, left: 0, height: 2, width: "100%" });
  const timeline = box({ left: 0, width: "100%" });
  const findings = box({ left: 0, width: "100%" });
  const detail = box({ left: 0, width: "100%" });
  const status = box({ left: 0, width: "100%", height: 1 });
  const help = box({ top: 0, left: 0, width: 84, height: 30, border: { type: "line" }, label: " keys (any key closes) ", hidden: true });
  let mouse = options.mouse;
  let copies = 0;

  const draw = () => {
    if (destroyed) return;
    const width = Math.max(20, screen.width as number);
    const height = Math.max(4, screen.height as number);
    const L = layout(width, height, session.variantFindings.length);
    const compare = session.compare !== null;
    let y = 0;
    const place = (el: blessed.Widgets.BoxElement, h: number) => {
      el.top = y;
      el.height = h;
      el.width = width;
      if (h === 0) el.hide();
      else el.show();
      y += h;
    };
    place(header, L.header);
    place(timeline, L.timeline);
    place(findings, L.findings);
    place(detail, L.detail);
    place(status, L.status);
    header.setContent(toTags(headerLines(session, width), mono));
    if (compare) {
      const rows = Math.max(1, L.timeline - 2);
      timeline.setContent(toTags([compareTitle(session, width), compareLandmarks(session, width), ...compareLines(session, width, rows)], mono));
    } else if (L.timeline >= 12) {
      timeline.setContent(toTags([histogramLine(session, width), ...timelineLines(session, width, L.timeline - 1)], mono));
    } else timeline.setContent(toTags(timelineLines(session, width, L.timeline), mono));
    if (L.findings > 0) {
      const title: Line = [{ text: `─ findings (${session.variantFindings.length})${session.focus === "findings" ? " ◀ focus: j/k, Enter jumps, y copies" : " · Tab"} `.padEnd(width, "─"), style: "dim" }];
      findings.setContent(toTags([title, ...findingsLines(session, width, L.findings - 1)], mono));
    }
    if (L.detail > 0) {
      const title: Line = [{ text: `─ record${session.focus === "detail" ? " ◀ focus: j/k scroll" : ""} `.padEnd(width, "─"), style: "dim" }];
      // The record's own line stays; the rest scrolls, by hand (j/k with the pane focused) or
      // to keep the cursor's hop of a causal chain (the pane's last part) in view.
      const [first, ...rest] = detailLines(session, raw, width);
      const room = Math.max(0, L.detail - 2);
      const hop = rest.findIndex((l) => l[0]?.text.startsWith("▶"));
      const auto = session.detailScroll === 0 && hop >= room ? hop - room + 2 : 0;
      const scroll = Math.min(session.detailScroll || auto, Math.max(0, rest.length - room));
      detail.setContent(toTags([title, ...(first ? [first] : []), ...rest.slice(scroll, scroll + room)], mono));
    }
    status.setContent(toTags([statusLine(session, width)], mono));
    if (session.help) {
      const hw = Math.min(84, width);
      const hh = Math.min(helpLines().length + 2, height);
      help.width = hw;
      help.height = hh;
      help.top = Math.max(0, Math.floor((height - hh) / 2));
      help.left = Math.max(0, Math.floor((width - hw) / 2));
      help.setContent(toTags(helpLines(), mono));
      help.show();
      help.setFront();
    } else help.hide();
    screen.render();
  };

  let timer: NodeJS.Timeout | null = null;
  let last = 0;
  const schedule = () => {
    if (timer || !session.playing || destroyed) return;
    last = performance.now();
    // Sleep through gaps (they are real), but wake often enough to redraw the clock.
    const due = session.nextDueMs ?? 100;
    timer = setTimeout(() => {
      timer = null;
      const now = performance.now();
      session.tick(now - last);
      draw();
      schedule();
    }, Math.max(15, Math.min(250, due)));
  };

  return new Promise((resolve) => {
    const quit = () => {
      if (timer) clearTimeout(timer);
      process.off("uncaughtException", onCrash);
      process.off("unhandledRejection", onCrash);
      process.off("exit", restore);
      unregister();
      restore();
      resolve();
    };
    screen.on("keypress", (ch: string | undefined, key: { full?: string; name?: string } | undefined) => {
      const started = performance.now();
      const k = normalizeKey(ch, key?.full ?? key?.name ?? "");
      // blessed reports Enter twice (return, then enter): act on one.
      if (k === "" || k === "return") return;
      if (k === "M" && !session.prompt) {
        mouse = !mouse;
        if (mouse) screen.program.enableMouse();
        else screen.program.disableMouse();
        session.message = `mouse ${mouse ? "on" : "off"}`;
        draw();
        return;
      }
      const effect = handleKey(session, k, raw);
      if (effect.kind === "quit") return quit();
      if (effect.kind === "copy") {
        const file = join(options.copyDir ?? tmpdir(), `forensics-copy-${session.data.manifest.runId}-${process.pid}-${++copies}.md`);
        try {
          writeFileSync(file, effect.markdown);
          session.message = `copied ${effect.what}: ${file} (and to the clipboard via OSC 52)`;
        } catch (err) {
          session.message = `could not write ${file}: ${(err as Error).message}`;
        }
        screen.program.write(osc52(effect.markdown));
      }
      draw();
      options.onFrame?.(k, performance.now() - started);
      schedule();
    });
    if (mouse) {
      screen.program.enableMouse();
      screen.on("mouse", (data: { action: string; y: number }) => {
        if (!mouse) return;
        const top = timeline.atop as number;
        if (data.action === "wheelup") session.moveTo(session.cursorPos - 3);
        else if (data.action === "wheeldown") session.moveTo(session.cursorPos + 3);
        else if (data.action === "mousedown" && data.y >= top && data.y < top + (timeline.height as number)) {
          const headerRows = session.compare !== null ? 2 : (timeline.height as number) >= 12 ? 1 : 0;
          session.moveTo(session.top + (data.y - top) - headerRows);
          session.focus = "timeline";
        } else return;
        draw();
      });
    }
    screen.on("resize", draw);
    draw();
  });
}
