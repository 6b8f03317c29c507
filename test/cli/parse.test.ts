import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

  it("explains itself in --help, with an example", async () => {
    const result = await forensics(["parse", "strace", "--help"]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/--json/);
    expect(result.stdout).toMatch(/\$ forensics parse strace trace\.log/);
  });
});
