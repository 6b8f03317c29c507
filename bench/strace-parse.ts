// `npm run bench`: is the strace parser fast enough, and is its memory flat, on big logs?
// Builds a 50 MB and a 200 MB log from the real captures in test/fixtures/strace, then
// compares `grep -c` with the streaming parser the CLI uses (each parser run in its own
// process, so its peak RSS is its own). Exits 1 if a target is missed:
//   - parser throughput ≥ 1/10 of grep's;
//   - peak RSS on 200 MB not materially above peak RSS on 50 MB: at most MAX_RSS_GROWTH_MB
//     more, which is above GC-timing noise (±25 MB between identical runs) and below what
//     keeping a quarter of the extra 150 MB of log would cost.
import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseStraceFile } from "../src/capture/strace-file.js";
import { findPackageRoot } from "../src/probe/package-root.js";

const MB = 1_000_000;
const SMALL_MB = 50;
const LARGE_MB = 200;
const MIN_GREP_FRACTION = 0.1;
const MAX_RSS_GROWTH_MB = 40;
/** Distinct pid offsets the generated log cycles through, so threads do not all look alike. */
const PID_VARIANTS = 50;

// The captures the log is made of: threads with [pid N], unfinished/resumed, tracer notes cut
// into lines, signals, ENOENT and friends, -o style "N  " prefixes, -yy decorations.
const SOURCES = [
  "go-sigterm-threads.log",
  "go-sigterm-threads-unprefixed.log",
  "go-sigterm-early.log",
  "tricky.log",
  "date-tz-missing.log",
  "sleep-sigkill.log",
];

interface Measurement {
  bytes: number;
  records: number;
  unparsed: number;
  ms: number;
  maxRssMb: number;
}

/** Child mode: parse one file the way `forensics parse strace` does and report. */
async function measure(file: string): Promise<void> {
  const start = performance.now();
  let records = 0;
  let unparsed = 0;
  await parseStraceFile(file, (batch) => {
    records += batch.length;
    for (const r of batch) if (r.kind === "unparsed") unparsed++;
  });
  const result: Measurement = {
    bytes: statSync(file).size,
    records,
    unparsed,
    ms: performance.now() - start,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(JSON.stringify(result));
}

/** Each fixture, PID_VARIANTS times, pids shifted so each copy has its own threads. */
function makeBlocks(fixtures: string): string[] {
  const texts = SOURCES.map((name) => readFileSync(join(fixtures, name), "utf8"));
  return Array.from({ length: PID_VARIANTS }, (_, v) =>
    texts
      .map((text) =>
        text.replace(/^(\[pid +)(\d+)\]|^(\d+)(?= +\d)|(Process )(\d+)/gm, (_all, pre, pid, bare, note, notePid) => {
          const shift = (n: string) => String(Number(n) + v * 1000);
          if (pre !== undefined) return `${pre}${shift(pid)}]`;
          if (bare !== undefined) return shift(bare);
          return `${note}${shift(notePid)}`;
        }),
      )
      .join(""),
  );
}

function writeLog(path: string, blocks: string[], targetBytes: number): void {
  const fd = openSync(path, "w");
  try {
    let written = 0;
    for (let i = 0; written < targetBytes; i++) written += writeSync(fd, blocks[i % blocks.length]!);
  } finally {
    closeSync(fd);
  }
}

function timeGrep(file: string): number {
  let best = Infinity;
  // Best of three, after the file is in the page cache, as for the parser.
  for (let run = 0; run < 3; run++) {
    const start = performance.now();
    execFileSync("grep", ["-c", "-F", " = -1 E", file]);
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

/** Three runs: the fastest time, and the median peak RSS (GC timing moves it by ±20 MB). */
function timeParser(file: string): Measurement {
  const runs = Array.from({ length: 3 }, () => {
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--measure", file], { encoding: "utf8" });
    if (child.status !== 0) throw new Error(`parser run failed: ${child.stderr}`);
    return JSON.parse(child.stdout) as Measurement;
  });
  const fastest = runs.reduce((a, b) => (b.ms < a.ms ? b : a));
  const medianRss = runs.map((r) => r.maxRssMb).sort((a, b) => a - b)[1]!;
  return { ...fastest, maxRssMb: medianRss };
}

async function main(): Promise<number> {
  if (process.argv[2] === "--measure") {
    await measure(process.argv[3]!);
    return 0;
  }
  const dir = mkdtempSync(join(tmpdir(), "forensics-bench-"));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.once("SIGINT", () => {
    removeDir();
    process.exit(130);
  });
  try {
    const blocks = makeBlocks(join(findPackageRoot(), "test", "fixtures", "strace"));
    const small = join(dir, "small.log");
    const large = join(dir, "large.log");
    writeLog(small, blocks, SMALL_MB * MB);
    writeLog(large, blocks, LARGE_MB * MB);

    const grepMs = timeGrep(large);
    const largeRun = timeParser(large);
    const smallRun = timeParser(small);
    const mbps = (bytes: number, ms: number) => bytes / MB / (ms / 1000);
    const grepMbps = mbps(largeRun.bytes, grepMs);
    const parserMbps = mbps(largeRun.bytes, largeRun.ms);
    const fraction = parserMbps / grepMbps;
    const rssGrowthMb = largeRun.maxRssMb - smallRun.maxRssMb;

    const rows = [
      ["tool", "log", "MB/s", "records/s", "peak RSS"],
      ["grep -c -F ' = -1 E'", `${LARGE_MB} MB`, grepMbps.toFixed(0), "-", "-"],
      ...[smallRun, largeRun].map((m) => [
        "forensics parser",
        `${(m.bytes / MB).toFixed(0)} MB`,
        mbps(m.bytes, m.ms).toFixed(0),
        (m.records / (m.ms / 1000)).toExponential(2),
        `${m.maxRssMb.toFixed(0)} MB`,
      ]),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "));

    const checks = [
      {
        ok: fraction >= MIN_GREP_FRACTION,
        text: `parser throughput is 1/${(1 / fraction).toFixed(1)} of grep's (target: at least 1/${1 / MIN_GREP_FRACTION})`,
      },
      {
        ok: rssGrowthMb <= MAX_RSS_GROWTH_MB,
        text: `peak RSS ${largeRun.maxRssMb.toFixed(0)} MB on ${LARGE_MB} MB vs ${smallRun.maxRssMb.toFixed(0)} MB on ${SMALL_MB} MB (target: at most ${MAX_RSS_GROWTH_MB} MB more)`,
      },
      {
        ok: largeRun.unparsed === 0 && smallRun.unparsed === 0,
        text: `unparsed records: ${largeRun.unparsed + smallRun.unparsed} (target: 0, the log is made of fixtures)`,
      },
    ];
    console.log("");
    for (const c of checks) console.log(`${c.ok ? "ok  " : "MISS"}  ${c.text}`);
    return checks.every((c) => c.ok) ? 0 : 1;
  } finally {
    removeDir();
  }
}

process.exitCode = await main();
