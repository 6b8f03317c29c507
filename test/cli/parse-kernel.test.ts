import { join } from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { KernelRecord } from "../../src/parse/kernel-records.js";
import { parseKernelText } from "../../src/parse/kernel.js";
import { ensureBuilt, root } from "./cli.js";
import { readFileSync } from "node:fs";

// Runs the built CLI as a user would, on the kernel observer's own captures.
const fixtures = join(root, "test", "fixtures", "kernel");
const forensics = (args: string[]) =>
  execa(process.execPath, [join(root, "bin", "forensics.js"), ...args], { cwd: fixtures, reject: false, timeout: 60_000 });

beforeAll(ensureBuilt);

describe("forensics parse kernel", () => {
  it("summarises a trial's capture: signals by result, deliveries, exits, handler installs, uprobe hits", async () => {
    const r = await forensics(["parse", "kernel", "namespace-pid1-before-handler/kernel.trace", "namespace-pid1-before-handler/kernel-signals.trace"]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("");
    const rows = Object.fromEntries(r.stdout.split("\n").filter((l) => /^\S.*  /.test(l)).map((l) => [l.slice(0, 19).trim(), l.slice(19).trim()]));
    expect(rows["signals generated"]).toBe("SIGKILL delivered ×1, SIGTERM ignored ×1");
    expect(rows["Go handler installs"]).toMatch(/^SIGTERM ×1, /);
    expect(rows["uprobe hits"]).toMatch(/runtime\.setsig ×\d+, .*runtime\.sighandler ×1/);
    expect(r.stdout).toMatch(/\n\d+ records from 2 files, 0 unparsed \(\d+ signals aimed outside the trial's processes not counted\)$/);
  });

  it("--json prints every record, nothing dropped, one valid JSON object per line", async () => {
    const file = "docker-pid1-after-notify/kernel-signals.trace";
    const r = await forensics(["parse", "kernel", "--json", file]);
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.map((l) => KernelRecord.parse(JSON.parse(l)))).toEqual(parseKernelText(readFileSync(join(fixtures, file), "utf8")));
  });

  it("an unreadable file is one line on stderr and exit 66", async () => {
    const r = await forensics(["parse", "kernel", "no-such.trace"]);
    expect(r.exitCode).toBe(66);
    expect(r.stderr.trimEnd().split("\n")).toEqual(["forensics: cannot read no-such.trace: no such file or directory (ENOENT)"]);
  });

  it("stops quietly when the reader closes the pipe", async () => {
    const r = await execa("sh", ["-c", `node ${join(root, "bin", "forensics.js")} parse kernel --json namespace-pid1-after-notify/kernel.trace | head -1`], { cwd: fixtures, reject: false });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout).kind).toBe("header");
  });
});
