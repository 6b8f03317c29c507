// `forensics replay` in a real pseudo-terminal, read back through a headless xterm.
import { readFile, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import * as tar from "tar";
import { beforeAll, describe, expect, test } from "vitest";
import { execa } from "execa";
import { ensureBuilt, root } from "../cli/cli.js";
import { addHostileRecord, copyFixture, FIXTURE, readJson } from "./bundles.js";
import { startTty, type Tty } from "./pty.js";

beforeAll(ensureBuilt);

const open = async (args: string[] = [FIXTURE], opts: Parameters<typeof startTty>[1] = {}): Promise<Tty> => {
  const tty = startTty(["replay", ...args], opts);
  await tty.waitFor("PAUSED");
  return tty;
};
const quit = async (tty: Tty) => {
  tty.send("q");
  expect((await tty.exited).exitCode).toBe(0);
};
/** Trial t005 of the fixture: tini observed by strace and the kernel, SIGTERM after Notify. */
const toT005 = async (tty: Tty) => {
  tty.send("]]]]");
  await tty.waitFor("trial t005");
};
const statusRow = (tty: Tty) => tty.rows().filter((r) => r.trim() !== "").pop() ?? "";

describe("forensics replay", () => {
  test("opens on the exec with header, timeline, findings, detail and status; j/k/G/g move", async () => {
    const tty = await open();
    const screen = tty.text();
    expect(screen).toContain("sigterm-race · sigterm-race-20261130T090254Z-67223f");
    expect(screen).toMatch(/trial t001 \(1\/8\) S1✗ S2✓ S7✗ · namespace init=tini go1\.26\.8 \(variant 1\/1\) · obs=none · aim:after-not/);
    expect(screen).toContain("findings (3)");
    expect(screen).toMatch(/S1 REFUTED/);
    expect(screen).toMatch(/#\d+ runtime#\d+ probe · \+0µs from exec/);
    tty.send("G");
    await tty.waitFor(/10\/10 #9/);
    tty.send("k");
    await tty.waitFor(/9\/10 #8/);
    tty.send("g");
    await tty.waitFor(/1\/10 #0/);
    await quit(tty);
  });

  test("trials and variants switch with [ ] { }; the detail pane shows the raw line with its file and byte offset", async () => {
    const tty = await open();
    await toT005(tty);
    tty.send("s");
    await tty.waitFor("signal ↓");
    expect(tty.text()).toMatch(/raw {2}raw\/namespace-tini-go1\.26\.8\/t005\/\S+@\d+/);
    tty.send("[");
    await tty.waitFor("trial t004");
    tty.send("}");
    await tty.waitFor("last variant");
    await quit(tty);
  });

  test("a filter hides rows and says how many; x brings them back", async () => {
    const tty = await open();
    await toT005(tty);
    tty.send("f");
    await tty.waitFor(/filter: █ +src=strace,kernel,probe,runtime kind=/);
    tty.send("src=kernel\r");
    const screen = await tty.waitFor(/\d+ hidden \(src=kernel\)/);
    const timeline = screen.split("\n").slice(3, 12); // under the header and the histogram
    expect(timeline.every((r) => r.includes("kernel"))).toBe(true);
    tty.send("F");
    await tty.waitFor(/hidden \(src=kernel failed\)/);
    tty.send("x");
    await tty.waitFor((s) => !/hidden/.test(s));
    await quit(tty);
  });

  test("/ highlights hits in context, n/N move between them, & filters to them", async () => {
    const tty = await open();
    await toT005(tty);
    tty.send("/sigsend\r");
    await tty.waitFor(/\/sigsend \d+ hits/);
    const cell = tty.cellAt("sigsend");
    expect(cell?.bg).toBe(3); // yellow background, the rest of the row in context
    expect(tty.text()).not.toMatch(/hidden/);
    const before = statusRow(tty);
    tty.send("n");
    await tty.waitFor((s) => s.split("\n").filter((r) => r.trim()).pop() !== before);
    tty.send("&\r");
    await tty.waitFor(/\d+ hidden \(search\)/);
    await quit(tty);
  });

  test("Enter on a finding jumps to the record it cites; its interval is drawn", async () => {
    const tty = await open();
    await toT005(tty);
    tty.send("\t");
    await tty.waitFor("focus: j/k, Enter jumps");
    tty.send("j\r");
    const screen = await tty.waitFor(/S2: \w+#\d+/);
    expect(screen).toMatch(/cited by S2 CONFIRMED/);
    expect(screen).toContain("┃");
    await quit(tty);
  });

  test("l follows a SIGTERM's causal chain across observers: driver → kernel → strace → uprobes → probe; < goes back", async () => {
    const tty = await open();
    await toT005(tty);
    tty.send("/driver rel\r");
    await tty.waitFor((screen) => /\/driver rel 1 hits/.test(screen) && /#\d+ runtime#\d+ probe · /.test(screen) && screen.includes("trial t005"));
    expect(tty.text()).toMatch(/send .*runtime: driver kill\(\d+, SIGTERM\)/);
    // The fixture's t005: every hop of the chain, each from the observer that saw it.
    const hops = [
      "kernel#456 signal-generate", // the driver's kill, as the kernel generated it for tini
      "strace#403 syscall", // tini's rt_sigtimedwait returns SIGTERM
      "strace#404 syscall", // tini forwards it: kill(6, SIGTERM)
      "kernel#457 signal-generate", // … which the kernel generates for the probe
      "strace#407 signal", // ptrace sees it delivered
      "kernel#437 signal-deliver",
      "kernel#438 uprobe", // runtime.sighandler
      "kernel#439 uprobe", // runtime.sigsend
      "kernel#440 uprobe", // os/signal.process
      "probe#2 probe", // the probe's own "signal" event
    ];
    for (const hop of hops) {
      tty.send("l");
      await tty.waitFor(new RegExp(`#\\d+ ${hop} · `));
    }
    // A frame can arrive in pieces: wait for the status line too, do not read it at once.
    await tty.waitFor(() => /report \+\d+µs: probe reports SIGTERM/.test(statusRow(tty)));
    tty.send("<");
    await tty.waitFor(/#\d+ kernel#440 uprobe · /);
    tty.send(">");
    await tty.waitFor(/#\d+ probe#2 probe · /);
    await quit(tty);
  });

  test("c compares two trials of the variant side by side, aligned on the exec", async () => {
    const tty = await open();
    await toT005(tty);
    tty.send("c");
    const screen = await tty.waitFor("t001 observed by none");
    expect(screen).toMatch(/t005 observed by strace\+kernel \(aim:after-notif.*│ t001 observed by none \(aim:after-notify\)/);
    expect(screen.split("\n").filter((r) => /[+-][\d.]+(ms|µs|s) .*│ +[+-][\d.]+(ms|µs|s) /.test(r)).length).toBeGreaterThan(3);
    tty.send("c");
    await tty.waitFor((s) => !s.includes("t001 observed by none"));
    await quit(tty);
  });

  test("space plays in scaled real time and the cursor advances; PAUSED when stopped; + - change the speed", async () => {
    const tty = await open();
    await toT005(tty);
    tty.send("---");
    await tty.waitFor("PAUSED ×0.1");
    const row = () => Number(/#(\d+)\s*$/.exec(statusRow(tty))?.[1]);
    const start = row();
    tty.send(" ");
    await tty.waitFor("PLAYING ×0.1");
    await tty.waitFor(() => row() > start + 5);
    tty.send(" ");
    await tty.waitFor("PAUSED ×0.1");
    tty.send("+");
    await tty.waitFor("PAUSED ×0.2");
    const here = row();
    tty.send(".");
    await tty.waitFor(() => row() > here);
    for (let i = 0; i < 12; i++) tty.send("+");
    await tty.waitFor("PAUSED ×1000");
    await quit(tty);
  });

  test("m marks a record and times are shown from it; : goes to a time; y copies Markdown to a file and through OSC 52", async () => {
    const dir = dirname(await copyFixture());
    const tty = await open([FIXTURE, "--copy-dir", dir]);
    await toT005(tty);
    tty.send("m");
    tty.send(":+500ms\r");
    await tty.waitFor(/from mark #\d+/);
    tty.send("y");
    const screen = await tty.waitFor(/copied record #\d+: /);
    expect(tty.output()).toContain("\x1b]52;c;");
    const files = (await readdir(dir)).filter((f) => f.endsWith(".md"));
    expect(files).toHaveLength(1);
    const md = await readFile(join(dir, files[0]!), "utf8");
    expect(md).toMatch(/^### Record #\d+ of t005/);
    expect(md).toContain("trial `t005`");
    expect(screen).toBeTruthy();
    await quit(tty);
  });

  test("? shows every key; any key closes it", async () => {
    const tty = await open();
    tty.send("?");
    await tty.waitFor("keys (any key closes)");
    expect(tty.text()).toContain("follow the causal chain");
    tty.send("j");
    await tty.waitFor((s) => !s.includes("keys (any key closes)"));
    await quit(tty);
  });

  test("resize, 80×24 and smaller keep the layout", async () => {
    const tty = await open([FIXTURE], { cols: 120, rows: 40 });
    tty.resize(80, 24);
    await tty.waitFor((s) => s.split("\n")[23]!.includes("PAUSED"));
    expect(tty.rows().every((r) => r.length <= 80)).toBe(true);
    tty.resize(50, 12);
    await tty.waitFor((s) => s.split("\n")[11]!.includes("PAUSED"));
    expect(tty.text()).toContain("forensics replay");
    tty.resize(100, 30);
    await tty.waitFor("findings (3)");
    await quit(tty);
  });

  test("a record full of escape sequences and control bytes shows escaped and breaks nothing", async () => {
    const dir = await copyFixture();
    await addHostileRecord(dir, "t001", 1000);
    const tty = await open([dir], { cols: 220 });
    tty.send("/EVIL\r");
    const screen = await tty.waitFor(/\/EVIL 1 hits/);
    expect(screen).toMatch(/EVIL\\x1b\[2J\\x1b\[H\\x1b\]0;pwned\\x07/);
    expect(screen.split("\n")[0]).toContain("forensics replay");
    // The detail pane shows the whole record, wide characters escaped too.
    expect(screen).toMatch(/\\r CR\\x08\\x00\\x7f|\\rCR\\x08\\x00\\x7f/);
    expect(screen).toContain("\\u{6f22}");
    expect(tty.output()).not.toContain("pwned\x07");
    await quit(tty);
  });

  test("NO_COLOR: attributes only, no colours", async () => {
    const tty = await open([FIXTURE], { env: { NO_COLOR: "1" } });
    tty.send("/tini\r");
    await tty.waitFor(/\/tini \d+ hits/);
    expect(tty.output()).not.toMatch(/\x1b\[[0-9;]*(3[0-7]|4[0-7]|38;5;\d+|48;5;\d+)m/);
    expect(tty.cellAt("PAUSED")?.inverse).toBe(true);
    await quit(tty);
  });

  test("TERM=xterm and an unknown TERM still work", async () => {
    for (const TERM of ["xterm", "no-such-terminal-xyz"]) {
      const tty = await open([FIXTURE], { env: { TERM } });
      await quit(tty);
    }
  });

  test("Ctrl-C quits and restores the terminal (normal screen, cursor, mouse off)", async () => {
    const tty = await open();
    tty.send("\x03");
    expect((await tty.exited).exitCode).toBe(0);
    const out = tty.output();
    expect(out.lastIndexOf("\x1b[?1049l")).toBeGreaterThan(out.lastIndexOf("\x1b[?1049h"));
    expect(out).toContain("\x1b[?25h");
  });

  test("run --replay is offered, and refused without a terminal before any trial runs", async () => {
    const help = await execa(process.execPath, [join(root, "bin", "forensics.js"), "run", "--help"], { reject: false });
    expect(help.stdout).toContain("--replay");
    const run = await execa(process.execPath, [join(root, "bin", "forensics.js"), "run", "sigterm-race", "--replay"], { reject: false, stdin: "ignore" });
    expect(run.exitCode).toBe(64);
    expect(run.stderr).toContain("--replay needs a terminal");
  });

  test("--no-mouse leaves the mouse to the terminal", async () => {
    const tty = await open([FIXTURE, "--no-mouse"]);
    expect(tty.output()).not.toMatch(/\x1b\[\?100[0236]h/);
    await quit(tty);
  });

  test("a .tar.gz of the bundle opens the same", async () => {
    const dir = await copyFixture();
    const archive = join(dirname(dir), "bundle.tar.gz");
    await tar.c({ gzip: true, file: archive, cwd: dirname(dir) }, ["bundle"]);
    const tty = await open([archive]);
    expect(tty.text()).toContain("sigterm-race-20261130T090254Z-67223f");
    await quit(tty);
  });

  test("a partial bundle opens with a PARTIAL mark; without evidence it is rebuilt from raw/", async () => {
    const dir = await copyFixture();
    const manifest = await readJson<Record<string, unknown> & { files: { path: string }[] }>(join(dir, "manifest.json"));
    manifest.status = "partial";
    manifest.reason = "interrupted by SIGINT";
    manifest.files = manifest.files.filter((f) => f.path !== "evidence.json" && f.path !== "findings.json");
    await writeFile(join(dir, "manifest.json"), JSON.stringify(manifest));
    const tty = await open([dir]);
    expect(tty.text()).toMatch(/PARTIAL: interrupted by SIGINT; evidence rebuilt from raw\//);
    expect(tty.text()).toContain("findings (0)");
    await quit(tty);
  });

  describe("a bundle that fails verification opens nothing: one line, exit 67", () => {
    const cases: [string, (dir: string) => Promise<void>, RegExp][] = [
      ["hash mismatch", async (dir) => writeFile(join(dir, "findings.json"), (await readFile(join(dir, "findings.json"), "utf8")).replace("REFUTED", "refuted ").replace('"refuted"', '"confirmed"')), /findings\.json does not match its sha256/],
      [
        "unknown schema version",
        async (dir) => {
          const m = await readJson(join(dir, "manifest.json"));
          await writeFile(join(dir, "manifest.json"), JSON.stringify({ ...m, schemaVersion: 99 }));
        },
        /schema version 99/,
      ],
      ["missing file", async (dir) => rm(join(dir, "raw", "namespace-tini-go1.26.8", "t005", "kernel.trace")), /missing file listed in the manifest: raw\/namespace-tini-go1\.26\.8\/t005\/kernel\.trace/],
    ];
    test.each(cases)("%s", async (_name, damage, message) => {
      const dir = await copyFixture();
      await damage(dir);
      const tty = startTty(["replay", dir]);
      const { exitCode } = await tty.exited;
      expect(exitCode).toBe(67);
      const lines = tty.output().trim().split(/\r?\n/);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(tty.output()).not.toContain("\x1b[?1049h");
    });
  });
});
