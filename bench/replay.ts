// `npm run bench` (replay part): does `forensics replay` open a million-record bundle in
// ≤ 2 s and redraw after each key in ≤ 50 ms? Builds a synthetic bundle (one trial, 1M strace
// records, raw strace.log included) through BundleWriter, then measures in this process:
//   open   = verify (sha256 of every file, in worker threads) while reading the trials' headers
//            and timeline columns (checked) + index the trial + first frame (the records on
//            screen are read and validated with zod then, as every record is: when used)
//   keys   = handling + redraw for each key of a navigation session, through the real blessed
//            app writing to a discarding terminal of 160×48
// Printed beside what lnav does on a log of the same size (it indexes lazily and shows the
// first screen at once; a key is never noticeably slow). Not asserted: timing on a shared
// 2-core machine varies; the numbers are for a human.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { sha256Files } from "../src/bundle/hash.js";
import { decodeTimeline } from "../src/bundle/timeline-file.js";
import { runReplayApp } from "../src/tui/app.js";
import { openReplay } from "../src/tui/open.js";
import { ReplaySession } from "../src/tui/session.js";

const N = Number(process.env.REPLAY_BENCH_RECORDS ?? 1_000_000);
const KEYS = ["j", "j", "k", "\x1b[6~", "\x1b[6~", "\x1b[5~", "G", "g", "e", "e", "E", "s", "s", "m", "j", "j", "j", "l", "]", "?", "q2", "F", "F", "P", "P", "/futex\r", "n", "n", "N", ":+500ms\r", "<", ">", "\t", "j", "\t", "\t", "c", "c", "+", "-", ".", ","];

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "forensics-replay-bench-"));
  try {
    // Written by a child process (with the heap a million records in memory need), so this
    // process's memory is the replay's alone.
    const t0 = performance.now();
    const writer = spawnSync(process.execPath, ["--max-old-space-size=8192", join(import.meta.dirname, "replay-bundle.js"), root, String(N)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    if (writer.status !== 0) throw new Error(`writing the synthetic bundle failed (exit ${writer.status})`);
    const dir = writer.stdout.trim();
    console.log(`synthetic bundle: ${N.toLocaleString("en")} records, written through BundleWriter in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const mem0 = process.memoryUsage().rss;
    // CPU time beside wall time: on a shared machine (load average above the core count) wall
    // time measures the neighbours too; this process's CPU time is what the replay itself costs.
    const cpu = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    const cpuA = cpu();
    const a = performance.now();
    const opened = await openReplay(dir);
    const b = performance.now();
    const cpuB = cpu();
    const session = new ReplaySession(opened);
    const c = performance.now();
    const cpuC = cpu();

    const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
    const output = Object.assign(new Writable({ write: (_chunk, _enc, done) => done() }), { isTTY: true, columns: 160, rows: 48 });
    const frames: { key: string; ms: number }[] = [];
    let firstFrameMs = 0;
    let resolveFrame: (() => void) | null = null;
    const app = runReplayApp(session, {
      mouse: false,
      input,
      output,
      terminal: "xterm",
      copyDir: root,
      onFrame: (key, ms) => {
        frames.push({ key, ms });
        resolveFrame?.();
      },
    });
    firstFrameMs = performance.now() - c;
    const cpuD = cpu();
    const open = { verifyRead: b - a, index: c - b, firstFrame: firstFrameMs };
    const openCpu = { verifyRead: cpuB - cpuA, index: cpuC - cpuB, firstFrame: cpuD - cpuC };
    const openTotal = open.verifyRead + open.index + open.firstFrame;
    const keyCpu: number[] = [];

    for (const k of KEYS) {
      const keys = k === "q2" ? "?" : k; // "?" toggles help; the next key closes it
      for (const ch of keys.startsWith("/") || keys.startsWith(":") ? [...keys] : [keys]) {
        const done = new Promise<void>((r) => (resolveFrame = r));
        const before = cpu();
        input.write(ch);
        await done;
        keyCpu.push(cpu() - before);
      }
    }
    input.write("q");
    await app;
    const rss = (process.memoryUsage().rss - mem0) / 1e6;

    const ms = frames.map((f) => f.ms).sort((x, y) => x - y);
    const pct = (p: number) => ms[Math.min(ms.length - 1, Math.floor((p / 100) * ms.length))]!;
    const worst = [...frames].sort((x, y) => y.ms - x.ms).slice(0, 5);
    const kc = [...keyCpu].sort((x, y) => x - y);
    const kpct = (p: number) => kc[Math.min(kc.length - 1, Math.floor((p / 100) * kc.length))]!;
    const row = (what: string, measured: string, cpuMs: string, target: string, lnav: string) => console.log(`  ${what.padEnd(32)} ${measured.padStart(10)} ${cpuMs.padStart(10)}   ${target.padEnd(8)} ${lnav}`);
    const load = (await import("node:os")).loadavg()[0]!;
    console.log(`\nforensics replay on ${N.toLocaleString("en")} records (${session.index.n.toLocaleString("en")} timeline rows), 160×48 terminal, load average ${load.toFixed(1)} on ${(await import("node:os")).cpus().length} cores`);
    row("", "wall", "cpu", "target", "lnav on a log of this size");
    row("open: verify + read + validate", `${open.verifyRead.toFixed(0)} ms`, `${openCpu.verifyRead.toFixed(0)} ms`, "", "");
    row("open: index the trial", `${open.index.toFixed(0)} ms`, `${openCpu.index.toFixed(0)} ms`, "", "");
    row("open: first frame", `${open.firstFrame.toFixed(0)} ms`, `${openCpu.firstFrame.toFixed(0)} ms`, "", "");
    row("open: total", `${openTotal.toFixed(0)} ms`, `${(openCpu.verifyRead + openCpu.index + openCpu.firstFrame).toFixed(0)} ms`, "≤ 2000", "first screen at once, indexes in the background");
    row(`key → redraw, median of ${ms.length}`, `${pct(50).toFixed(1)} ms`, `${kpct(50).toFixed(1)} ms`, "≤ 50", "not noticeable (< 50 ms)");
    row("key → redraw, p90", `${pct(90).toFixed(1)} ms`, `${kpct(90).toFixed(1)} ms`, "≤ 50", "");
    row("key → redraw, max", `${pct(100).toFixed(1)} ms`, `${kpct(100).toFixed(1)} ms`, "≤ 50", "a search over the whole log may take longer");
    console.log(`  slowest keys: ${worst.map((f) => `${JSON.stringify(f.key)} ${f.ms.toFixed(0)} ms`).join(", ")}`);
    console.log(`  memory: +${rss.toFixed(0)} MB RSS`);
    // The two halves of the first phase, each alone (they overlap when opening).
    const files = opened.manifest.files.map((f) => ({ path: join(opened.dir, f.path), bytes: f.bytes }));
    const cpuH = cpu();
    const h = performance.now();
    await sha256Files(files);
    const hashMs = performance.now() - h;
    const hashCpu = cpu() - cpuH;
    const timeline = opened.manifest.files.find((f) => f.path.endsWith("/timeline.bin"))!;
    const sizes = { strace: 0, probe: 0, runtime: 0 };
    for (const f of opened.manifest.files) for (const s of Object.keys(sizes) as (keyof typeof sizes)[]) if (f.path.endsWith(`/${s}.ndjson`)) sizes[s] = f.bytes;
    const cpuR = cpu();
    const r = performance.now();
    decodeTimeline(await readFile(join(opened.dir, timeline.path)), sizes);
    const readMs = performance.now() - r;
    console.log(`  first phase, each half alone: sha256 of ${(files.reduce((s, f) => s + f.bytes, 0) / 1e6).toFixed(0)} MB (${files.length} files) ${hashMs.toFixed(0)} ms wall / ${hashCpu.toFixed(0)} ms cpu; read + decode + check timeline.bin (${(timeline.bytes / 1e6).toFixed(0)} MB) ${readMs.toFixed(0)} ms wall / ${(cpu() - cpuR).toFixed(0)} ms cpu`);
    const miss = [openTotal > 2000 ? `open ${openTotal.toFixed(0)} ms > 2000` : "", pct(90) > 50 ? `p90 redraw ${pct(90).toFixed(0)} ms > 50` : ""].filter(Boolean);
    console.log(miss.length ? `\nmissed: ${miss.join("; ")}` : "\nboth targets met");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
