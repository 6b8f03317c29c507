import { cp, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import sigtermRace from "../../scenarios/sigterm-race/index.js";
import { loadRawTrials } from "../../src/evidence/load.js";
import { columnsOf } from "../../src/evidence/timeline-columns.js";
import type { TrialEvidence } from "../../src/evidence/schemas.js";
import { loadBundle, readBundle } from "../../src/bundle/read.js";
import { BundleWriter } from "../../src/bundle/write.js";
import { HarnessError } from "../../src/errors.js";
import { rehash } from "../tui/bundles.js";

// A bundle written from one recorded variant's raw captures, then tampered with the ways
// a hostile or damaged bundle would be: every one is refused with one BAD_BUNDLE line.
const RAW = join(import.meta.dirname, "../fixtures/sigterm-race/namespace/raw/namespace-none-go1.26.8");

let root: string;
let dir: string;
let written: TrialEvidence[];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "forensics-bundle-"));
  const trials0 = await loadRawTrials(join(RAW, "../.."));
  const variant = trials0.find((t) => t.variant.init === "none")!.variant;
  const writer = await BundleWriter.create(root, "sigterm-race", {}, [variant]);
  dir = writer.dir;
  await cp(RAW, join(dir, "raw", "namespace-none-go1.26.8"), { recursive: true });
  const trials = (await loadRawTrials(dir)).filter((t) => t.variant.init === "none");
  written = trials;
  await writer.finish({ trials, findings: sigtermRace.analyse(variant, trials) });
});

afterEach(() => rm(root, { recursive: true, force: true }));

const refusal = async (): Promise<string> => {
  const err = await readBundle(dir).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HarnessError);
  expect((err as HarnessError).code).toBe("BAD_BUNDLE");
  expect((err as HarnessError).message).not.toContain("\n");
  return (err as HarnessError).message;
};

const editManifest = async (edit: (m: Record<string, unknown> & { files: { path: string }[] }) => void) => {
  const path = join(dir, "manifest.json");
  const manifest = JSON.parse(await readFile(path, "utf8"));
  edit(manifest);
  await writeFile(path, JSON.stringify(manifest));
};

describe("readBundle", () => {
  it("reads back what was written: complete, every file hashed, evidence and findings valid", async () => {
    const bundle = await readBundle(dir);
    expect(bundle.manifest.status).toBe("complete");
    expect(bundle.manifest.files.map((f) => f.path)).toEqual(expect.arrayContaining(["evidence.json", "findings.json"]));
    expect(bundle.trials.length).toBeGreaterThan(0);
    expect(bundle.findings.findings.map((f) => f.claim)).toEqual(["S1", "S2", "S7"]);
  });

  it("round-trips version 3: headers in evidence.json, each trial's records and timeline in evidence/, all hashed", async () => {
    const bundle = await readBundle(dir);
    expect(bundle.manifest.schemaVersion).toBe(3);
    const evidence = JSON.parse(await readFile(join(dir, "evidence.json"), "utf8")) as { trials: Record<string, unknown>[] };
    expect(evidence.trials.every((t) => !("records" in t) && !("timeline" in t))).toBe(true);
    const listed = bundle.manifest.files.map((f) => f.path);
    const t1 = written.find((t) => t.records.strace !== undefined)!;
    const files = [`evidence/namespace-none-go1.26.8/${t1.id}/strace.ndjson`, `evidence/namespace-none-go1.26.8/${t1.id}/probe.ndjson`, `evidence/namespace-none-go1.26.8/${t1.id}/runtime.ndjson`, `evidence/namespace-none-go1.26.8/${t1.id}/timeline.bin`];
    expect(listed).toEqual(expect.arrayContaining(files));
    // Whole: every record and the timeline as written.
    expect(loadBundle(bundle).trials).toEqual(written);
    // Lazy: one record at a time, and the columns the replay filters on, as computed from the trial.
    const trial = bundle.trials.find((t) => t.id === t1.id)!;
    expect(trial.record("strace", 3)).toEqual(t1.records.strace![3]);
    expect(trial.record("strace", t1.records.strace!.length)).toBeUndefined();
    const stored = trial.columns();
    const computed = columnsOf(t1);
    for (const k of ["n", "kinds", "syscalls", "errnos", "counts", "atUs", "source", "record", "pid", "flags", "kind", "syscall", "errno"] as const) expect(stored[k]).toEqual(computed[k]);
    expect(Array.from({ length: stored.n }, (_, i) => stored.text(i))).toEqual(t1.timeline.map((e) => e.text));
  });

  it("refuses a per-trial record file changed after the fact, naming it", async () => {
    const path = (await readBundle(dir)).manifest.files.find((f) => f.path.endsWith("strace.ndjson"))!.path;
    const text = await readFile(join(dir, path), "utf8");
    await writeFile(join(dir, path), text.replace('"syscall":"', '"syscall":"X').replace(/.$/s, ""));
    expect(await refusal()).toContain(`${path} does not match its sha256`);
  });

  it("refuses a timeline file whose offsets lie, even when the manifest was re-hashed to match", async () => {
    const path = (await readBundle(dir)).manifest.files.find((f) => f.path.endsWith("t005/timeline.bin"))!.path;
    const buf = await readFile(join(dir, path));
    const header = JSON.parse(buf.toString("utf8", 0, buf.indexOf(10))) as { columns: { name: string; offset: number }[] };
    const base = (buf.indexOf(10) + 8) & ~7;
    const strace = header.columns.find((c) => c.name === "offsets.strace")!;
    buf.writeDoubleLE(1e12, base + strace.offset + 8 * 2);
    await writeFile(join(dir, path), buf);
    await rehash(dir);
    expect(await refusal()).toMatch(new RegExp(`${path} is malformed: the strace offsets`));
  });

  it("refuses a trial file the manifest does not list", async () => {
    const path = (await readBundle(dir)).manifest.files.find((f) => f.path.endsWith("probe.ndjson"))!.path;
    await editManifest((m) => (m.files = m.files.filter((f) => f.path !== path)));
    expect(await refusal()).toContain(`names ${path}, which the manifest does not list`);
  });

  it("shows a record that fails its schema as invalid, and refuses it where every record is needed", async () => {
    const path = (await readBundle(dir)).manifest.files.find((f) => f.path.endsWith("strace.ndjson"))!.path;
    const lines = (await readFile(join(dir, path), "utf8")).split("\n");
    // Same length, so the timeline's offsets still hold: only the record's content is wrong.
    lines[2] = lines[2]!.replace('"kind":"syscall"', '"kind":"sysca11"');
    await writeFile(join(dir, path), lines.join("\n"));
    await rehash(dir);
    const bundle = await readBundle(dir);
    const trial = bundle.trials.find((t) => path.includes(`/${t.id}/`))!;
    expect(trial.record("strace", 2)).toMatchObject({ kind: "invalid", reason: expect.stringContaining("strace record schema") });
    expect(trial.record("strace", 1)?.kind).toBe("syscall");
    expect(() => loadBundle(bundle)).toThrow(/record 2 \(line 3\) does not match the strace record schema/);
  });

  it("refuses a listed file reached through a linked directory", async () => {
    const bundle = await readBundle(dir);
    const variantDir = join(dir, "evidence", (await readdir(join(dir, "evidence")))[0]!);
    await rename(variantDir, join(root, "elsewhere"));
    await symlink(join(root, "elsewhere"), variantDir);
    expect(bundle.trials.length).toBeGreaterThan(0);
    expect(await refusal()).toContain("leads outside the bundle through a link");
  });

  it("refuses a raw capture changed after the fact", async () => {
    const trial = (await readBundle(dir)).manifest.files.find((f) => f.path.endsWith("strace.log"))!.path;
    await writeFile(join(dir, trial), "tampered\n", { flag: "a" });
    expect(await refusal()).toContain("does not match its sha256");
  });

  it("refuses paths that leave the bundle", async () => {
    for (const path of ["../../etc/passwd", "/etc/passwd", "raw/../../x"]) {
      await editManifest((m) => m.files.push({ path, bytes: 1, sha256: "0".repeat(64) } as never));
      expect(await refusal()).toContain("outside the bundle");
      await editManifest((m) => m.files.pop());
    }
  });

  it("refuses a listed file that is a symbolic link", async () => {
    const bundle = await readBundle(dir);
    const victim = bundle.manifest.files.find((f) => f.path.endsWith("probe.jsonl"))!.path;
    await rm(join(dir, victim));
    await symlink("/etc/hostname", join(dir, victim));
    expect(await refusal()).toContain("not a regular file");
  });

  it("names the readable versions when the schema version is unknown", async () => {
    await editManifest((m) => (m.schemaVersion = 99));
    expect(await refusal()).toMatch(/schema version 99.*reads versions 1, 2 and 3/);
  });

  it("says a partial bundle is partial, and why", async () => {
    await editManifest((m) => {
      m.status = "partial";
      m.reason = "interrupted (SIGINT/SIGTERM)";
      m.files = m.files.filter((f) => f.path !== "findings.json");
    });
    expect(await refusal()).toContain("partial bundle: interrupted");
  });

  it("refuses a manifest that is not JSON", async () => {
    await writeFile(join(dir, "manifest.json"), "\u0089PNG\r\n");
    expect(await refusal()).toContain("not valid JSON");
  });
});
