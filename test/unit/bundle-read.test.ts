import { cp, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import sigtermRace from "../../scenarios/sigterm-race/index.js";
import { loadRawTrials } from "../../src/evidence/load.js";
import { readBundle } from "../../src/bundle/read.js";
import { BundleWriter } from "../../src/bundle/write.js";
import { HarnessError } from "../../src/errors.js";

// A bundle written from one recorded variant's raw captures, then tampered with the ways
// a hostile or damaged bundle would be: every one is refused with one BAD_BUNDLE line.
const RAW = join(import.meta.dirname, "../fixtures/sigterm-race/namespace/raw/namespace-none-go1.26.8");

let root: string;
let dir: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "forensics-bundle-"));
  const trials0 = await loadRawTrials(join(RAW, "../.."));
  const variant = trials0.find((t) => t.variant.init === "none")!.variant;
  const writer = await BundleWriter.create(root, "sigterm-race", {}, [variant]);
  dir = writer.dir;
  await cp(RAW, join(dir, "raw", "namespace-none-go1.26.8"), { recursive: true });
  const trials = (await loadRawTrials(dir)).filter((t) => t.variant.init === "none");
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
    expect(bundle.evidence.trials.length).toBeGreaterThan(0);
    expect(bundle.findings.findings.map((f) => f.claim)).toEqual(["S1", "S2", "S7"]);
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

  it("names both versions when the schema version is unknown", async () => {
    await editManifest((m) => (m.schemaVersion = 99));
    expect(await refusal()).toMatch(/schema version 99.*reads versions 1 and 2/);
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
