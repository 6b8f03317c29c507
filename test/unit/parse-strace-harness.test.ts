import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseStraceText } from "../../src/parse/strace.js";

// Every strace log the harness itself captured in the recorded sigterm-race runs
// (strace -f -ttt -T -y -s 256 -o …, attached to the gate through node-pty) must parse
// completely: each line a record, no `unparsed`, every <unfinished …> resumed or explained.
const RUNS = join(import.meta.dirname, "../fixtures/sigterm-race");

const logs = readdirSync(RUNS, { recursive: true, encoding: "utf8" })
  .filter((p) => p.endsWith("strace.log"))
  .sort();

describe("strace logs captured by the harness", () => {
  it("are there to test", () => {
    expect(logs.length).toBeGreaterThanOrEqual(20);
  });

  it.each(logs)("%s parses without unparsed lines", (log) => {
    const text = readFileSync(join(RUNS, log), "utf8");
    const records = parseStraceText(text);
    expect(records.filter((r) => r.kind === "unparsed")).toEqual([]);
    const lines = text.split("\n").filter((l) => l.trim() !== "");
    const resumptions = lines.filter((l) => /<\.\.\. \w+ resumed>/.test(l)).length;
    // A call split over an <unfinished ...> line and its <... resumed> line becomes one
    // record; a call whose process died inside it stays one record, marked unfinished.
    expect(records.length).toBe(lines.length - resumptions);
    for (const r of records) {
      expect(r.pid, "strace -f -o prefixes every line with the pid").not.toBeNull();
      expect(r.tsUs, "-ttt stamps every line").not.toBeNull();
    }
  });
});

// Two of them pinned record for record: the probe as PID 1 dying through Go's
// dieFromSignal fallback (t008), and tini forwarding SIGTERM to a probe that is not
// ready yet (t015). Regenerate with UPDATE_GOLDEN=1 and read the diff.
const PINNED = ["namespace/raw/namespace-none-go1.26.8/t008/strace.log", "namespace/raw/namespace-tini-go1.26.8/t015/strace.log"];

describe.each(PINNED)("harness capture %s", (log) => {
  it("parses to its golden records", () => {
    const records = parseStraceText(readFileSync(join(RUNS, log), "utf8"));
    const golden = join(RUNS, log.replace(/strace\.log$/, "strace.golden.jsonl"));
    const text = records.map((r) => JSON.stringify(r)).join("\n") + "\n";
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(golden, text);
    expect(text).toBe(readFileSync(golden, "utf8"));
  });
});
