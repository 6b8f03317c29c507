import type { RawLocator } from "./raw-location.js";
import { copyFinding, copyRange, copyRecord } from "./copy.js";
import { SPEEDS, type Effect, type ReplaySession } from "./session.js";
import { FLAG } from "./trial-index.js";

// Keys, normalised: a printable character is itself ("E", "/", "space"); anything else is
// blessed's full name ("up", "pagedown", "enter", "tab", "backspace", "C-c", "escape").

export function normalizeKey(ch: string | undefined, full: string): string {
  if (ch === " ") return "space";
  if (ch !== undefined && ch.length === 1 && ch >= " " && ch !== "\x7f" && !full.startsWith("C-") && !full.startsWith("M-")) return ch;
  return full;
}

const FOCUS = ["timeline", "findings", "detail"] as const;

/** What a key does; returns what the app must do beyond redrawing (quit, copy). */
export function handleKey(s: ReplaySession, key: string, raw: RawLocator): Effect {
  if (key !== "C-c") s.message = "";
  if (s.prompt) return promptKey(s, key);
  if (s.help) {
    s.help = false;
    if (key !== "q") return { kind: "none" };
  }
  const page = Math.max(1, s.pageRows - 1);
  if (s.focus === "findings") {
    const n = s.variantFindings.length;
    switch (key) {
      case "down":
      case "j":
        s.findingPos = Math.min(n - 1, s.findingPos + 1);
        return none;
      case "up":
      case "k":
        s.findingPos = Math.max(0, s.findingPos - 1);
        return none;
      case "enter":
        s.jumpToFinding();
        return none;
      case "y": {
        const f = s.variantFindings[s.findingPos];
        return f ? { kind: "copy", what: `finding ${f.claim}`, markdown: copyFinding(s, f) } : none;
      }
    }
  }
  if (s.focus === "detail") {
    if (key === "down" || key === "j") {
      s.detailScroll++;
      return none;
    }
    if (key === "up" || key === "k") {
      s.detailScroll = Math.max(0, s.detailScroll - 1);
      return none;
    }
  }
  switch (key) {
    case "q":
    case "C-c":
      return { kind: "quit" };
    case "?":
      s.help = true;
      return none;
    case "tab":
      s.focus = FOCUS[(FOCUS.indexOf(s.focus) + 1) % FOCUS.length]!;
      return none;
    case "S-tab":
      s.focus = FOCUS[(FOCUS.indexOf(s.focus) + FOCUS.length - 1) % FOCUS.length]!;
      return none;
    case "escape":
      s.focus = "timeline";
      return none;
    case "down":
    case "j":
      s.moveTo(s.cursorPos + 1);
      return none;
    case "up":
    case "k":
      s.moveTo(s.cursorPos - 1);
      return none;
    case "pagedown":
    case "C-f":
      s.top += page;
      s.moveTo(s.cursorPos + page);
      return none;
    case "pageup":
    case "C-b":
      s.top = Math.max(0, s.top - page);
      s.moveTo(s.cursorPos - page);
      return none;
    case "g":
    case "home":
      s.jumpTo(s.visible[0] ?? 0);
      return none;
    case "G":
    case "end":
      s.jumpTo(s.visible[s.visible.length - 1] ?? 0);
      return none;
    case "[":
      s.switchTrial(-1);
      return none;
    case "]":
      s.switchTrial(1);
      return none;
    case "{":
      s.switchVariant(-1);
      return none;
    case "}":
      s.switchVariant(1);
      return none;
    case "/":
      s.prompt = { kind: "search", text: "", asFilter: false };
      return none;
    case "&":
      s.prompt = { kind: "search", text: s.search?.pattern ?? "", asFilter: true };
      return none;
    case "f":
      s.prompt = { kind: "filter", text: "" };
      return none;
    case ":":
      s.prompt = { kind: "goto", text: "" };
      return none;
    case "n":
      s.seekSearch(true);
      return none;
    case "N":
      s.seekSearch(false);
      return none;
    case "F":
      s.toggleFailedOnly();
      return none;
    case "P":
      s.togglePidFilter();
      return none;
    case "x":
      s.applyFilter("");
      if (s.search) s.search.asFilter = false;
      return none;
    case "e":
      s.seekFlag(FLAG.failed, true, "failure");
      return none;
    case "E":
      s.seekFlag(FLAG.failed, false, "failure");
      return none;
    case "s":
      s.seekFlag(FLAG.signal, true, "signal");
      return none;
    case "S":
      s.seekFlag(FLAG.signal, false, "signal");
      return none;
    case "r":
      s.seekFlag(FLAG.cited, true, "cited record");
      return none;
    case "R":
      s.seekFlag(FLAG.cited, false, "cited record");
      return none;
    case "m":
      s.toggleMark();
      return none;
    case "u":
      s.seekMark(true);
      return none;
    case "U":
      s.seekMark(false);
      return none;
    case "l":
    case "enter":
      s.followChain(true);
      return none;
    case "h":
      s.followChain(false);
      return none;
    case "<":
    case "backspace":
      s.goBack();
      return none;
    case ">":
      s.goForward();
      return none;
    case "c":
      s.compare = s.compare === null ? s.counterpart() : null;
      if (s.compare === null && !s.message) s.message = "compare off";
      return none;
    case "space":
      s.togglePlay();
      return none;
    case ".":
      s.step(1);
      return none;
    case ",":
      s.step(-1);
      return none;
    case "+":
    case "=":
      s.speedPos = Math.min(SPEEDS.length - 1, s.speedPos + 1);
      return none;
    case "-":
      s.speedPos = Math.max(0, s.speedPos - 1);
      return none;
    case "y":
      return { kind: "copy", what: `record #${s.cursorRow}`, markdown: copyRecord(s, raw) };
    case "Y":
      return { kind: "copy", what: `records from #${s.anchorRow ?? s.cursorRow} to #${s.cursorRow}`, markdown: copyRange(s, raw) };
  }
  return none;
}

const none: Effect = { kind: "none" };

function promptKey(s: ReplaySession, key: string): Effect {
  const p = s.prompt!;
  if (key === "escape" || key === "C-c" || key === "C-g") {
    s.prompt = null;
    return none;
  }
  if (key === "backspace") {
    p.text = p.text.slice(0, -1);
    return none;
  }
  if (key === "C-u") {
    p.text = "";
    return none;
  }
  if (key === "enter") {
    s.prompt = null;
    if (p.kind === "search") s.setSearch(p.text, p.asFilter === true);
    else if (p.kind === "filter") s.applyFilter(p.text);
    else s.goTo(p.text);
    return none;
  }
  if (key === "space") p.text += " ";
  else if (key.length === 1) p.text += key;
  return none;
}

