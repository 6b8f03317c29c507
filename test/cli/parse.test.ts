import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StraceRecord } from "../../src/parse/records.js";
import { parseStraceText } from "../../src/parse/strace.js";
import { findPackageRoot } from "../../src/probe/package-root.js";

// Runs the built CLI as a user would, on the real captures under test/fixtures/strace.
const root = findPackageRoot();
const fixtures = join(root, "test", "fixtures", "strace");
const scratch = mkdtempSync(join(tmpdir(), "forensics-parse-cli-"));

const forensics = (args: string[]) =>
  execa(process.execPath, [join(root, "bin", "forensics.js"), ...args], { cwd: fixtures, reject: false, timeout: 60_000 });

beforeAll(async () => {
  const built = join(root, "dist", "src", "cli", "commands", "parse.js");
  if (!existsSync(built)) {
    // tsc still emits when files others are editing do not typecheck.
    await execa("npx", ["tsc", "-p", "tsconfig.json"], { cwd: root, reject: false });
  }
  expect(existsSync(built), "tsc emitted the parse command").toBe(true);
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Waits (at most 10 s) until process `pid` has `path` open, as /proc lists its descriptors. */
async function openedBy(pid: number, path: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const fds = (() => {
      try {
        return readdirSync(`/proc/${pid}/fd`);
      } catch {
        return [];
      }
    })();
    if (
      fds.some((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`) === path;
        } catch {
          return false;
        }
      })
    ) {
      return;
    }
    if (Date.now() > deadline) throw new Error(`process ${pid} did not open ${path} within 10 s`);
    await sleep(10);
  }
}

/** stderr is one "forensics: …" line, with no stack trace. */
const expectOneLineError = (stderr: string, text: RegExp) => {
  expect(stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(stderr).toMatch(/^forensics: /);
  expect(stderr).toMatch(text);
  expect(stderr).not.toMatch(/\n\s+at /);
};

describe("forensics parse strace", () => {
  it("--json prints every record, one valid JSON object per line, in parser order", async () => {
    const result = await forensics(["parse", "strace", "--json", "go-sigterm-threads.log"]);
    expect(result.exitCode).toBe(0);
    const printed = result.stdout.split("\n").map((l) => StraceRecord.parse(JSON.parse(l)));
    expect(printed).toEqual(parseStraceText(readFileSync(join(fixtures, "go-sigterm-threads.log"), "utf8")));
  });

  it("--json takes the pid of -ff files from their names", async () => {
    const files = readdirSync(join(fixtures, "ff"))
      .filter((f) => !f.endsWith(".golden.jsonl"))
      .map((f) => join("ff", f));
    const result = await forensics(["parse", "strace", "--json", ...files]);
    expect(result.exitCode).toBe(0);
    const pids = new Set(result.stdout.split("\n").map((l) => (JSON.parse(l) as { pid: number }).pid));
    expect([...pids].sort()).toEqual(files.map((f) => Number(f.split(".").pop())).sort());
  });

  it("prints a table of failed syscalls and a count line", async () => {
    const result = await forensics(["parse", "strace", "date-tz-missing.log", "tricky.log"]);
    expect(result.exitCode).toBe(0);
    const out = result.stdout.split("\n");
    expect(out[0]).toMatch(/^SYSCALL +PATH +ERRNO +COUNT +PIDS$/);
    expect(out).toContainEqual(expect.stringMatching(/^openat +\/usr\/share\/zoneinfo\/Nowhere\/Zone +ENOENT +1 +-$/));
    expect(out).toContainEqual(expect.stringMatching(/^connect +127\.0\.0\.1:1 +ECONNREFUSED +1 +-$/));
    expect(out.at(-1)).toMatch(/^\d+ records from 2 files, 0 unparsed$/);
  });

  it("lists the failures a strace -c table counted, which the trace does not show", async () => {
    // A real -c capture (test/fixtures/strace/real-world/README.md): a table, no trace.
    const result = await forensics(["parse", "strace", join("real-world", "c-summary-zoom-f.log")]);
    expect(result.exitCode).toBe(0);
    const out = result.stdout.split("\n");
    expect(out[0]).toBe("no failed syscalls");
    expect(out).toContain("failed calls as strace -c counted them:");
    expect(out).toContainEqual(expect.stringMatching(/^futex +87504 +784237$/));
    expect(out.at(-1)).toBe("112 records from 1 file, 0 unparsed");
  });

  it("fails with one line and exit 66 for a file it cannot read", async () => {
    const missing = await forensics(["parse", "strace", "no-such-trace.log"]);
    expect(missing.exitCode).toBe(66);
    expect(missing.stdout).toBe("");
    expectOneLineError(missing.stderr, /cannot read no-such-trace\.log: no such file or directory \(ENOENT\)/);

    const directory = await forensics(["parse", "strace", "ff"]);
    expect(directory.exitCode).toBe(66);
    expectOneLineError(directory.stderr, /cannot read ff: .*\(EISDIR\)/);
  });

  it("does not crash on a file that is not strace output", async () => {
    // A real 1x1 PNG: binary, with a few newlines in it.
    const png = join(scratch, "pixel.png");
    writeFileSync(
      png,
      Buffer.from(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
        "base64",
      ),
    );
    const table = await forensics(["parse", "strace", png]);
    expect(table.exitCode).toBe(66);
    expectOneLineError(table.stderr, /pixel\.png does not look like strace output \(0 of \d+ lines parsed\)/);

    const json = await forensics(["parse", "strace", "--json", png]);
    expect(json.exitCode).toBe(0);
    const records = json.stdout.split("\n").map((l) => StraceRecord.parse(JSON.parse(l)));
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((r) => r.kind === "unparsed")).toBe(true);
  });

  it("reads a FIFO: waits for its writer, parses to the end, as from a file", async () => {
    const fifo = join(scratch, "trace.fifo");
    await execa("mkfifo", [fifo]);
    const cli = forensics(["parse", "strace", "--json", fifo]);
    await openedBy(cli.pid!, fifo);
    // The CLI holds the FIFO open before any writer: strace -o may start after it.
    const writer = await open(fifo, "w");
    await writer.writeFile(readFileSync(join(fixtures, "tricky.log")));
    await writer.close();
    const result = await cli;
    expect(result.exitCode).toBe(0);
    const file = await forensics(["parse", "strace", "--json", "tricky.log"]);
    expect(result.stdout).toBe(file.stdout);
  });

  it("stops at once on Ctrl-C while a FIFO has no writer", async () => {
    const fifo = join(scratch, "idle.fifo");
    await execa("mkfifo", [fifo]);
    const cli = forensics(["parse", "strace", fifo]);
    await openedBy(cli.pid!, fifo);
    const sent = Date.now();
    cli.kill("SIGINT");
    const result = await cli;
    // Before, open() waited in libuv's thread pool and the process could not exit at all.
    expect(Date.now() - sent).toBeLessThan(3_000);
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toMatch(/SIGINT/);
  });

  it("explains itself in --help, with an example", async () => {
    const result = await forensics(["parse", "strace", "--help"]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/--json/);
    expect(result.stdout).toMatch(/\$ forensics parse strace trace\.log/);
  });
});
