// BundleWriter on a disk that fills up (a tiny tmpfs mounted here): raw captures written
// through it fail as one OUTPUT_FAILED naming the file and leave nothing half-written, and
// the manifest says why the bundle stopped.

import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it, onTestFinished, type TestContext } from "vitest";
import { BundleWriter } from "../../src/bundle/write.js";
import type { Variant } from "../../src/evidence/schemas.js";
import { missingRoot, skipUnlessCI } from "../support/prereq.js";

const variant: Variant = { runtime: "namespace", init: "none", go: "go1.26.8" };

async function tinyDisk(ctx: TestContext): Promise<string> {
  skipUnlessCI(ctx, missingRoot());
  const dir = await mkdtemp(join(tmpdir(), "forensics-bundle-write-"));
  // One page: the first manifest fills it.
  await execa("mount", ["-t", "tmpfs", "-o", "size=4k", "forensics-bundle-write", dir]);
  onTestFinished(async () => {
    await execa("umount", [dir], { reject: false });
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

describe("BundleWriter on a full disk", () => {
  it("appendRaw and writeRaw: OUTPUT_FAILED naming the file, no half file; finish keeps the reason", async (ctx) => {
    const out = await tinyDisk(ctx);
    const bundle = await BundleWriter.create(out, "full-disk", {}, [variant]);
    const dir = await bundle.trialDir(variant, "t001");
    const big = "x".repeat(64 * 1024);

    const appended = await bundle.appendRaw(join(dir, "runtime.jsonl"), big).catch((e: unknown) => e);
    expect(appended).toMatchObject({ code: "OUTPUT_FAILED", exitCode: 75 });
    expect((appended as Error).message).toBe(`cannot write ${join(dir, "runtime.jsonl")}: no space left on device (ENOSPC): free some space or choose another --out`);
    const written = await bundle.writeRaw(join(dir, "probe.jsonl"), big).catch((e: unknown) => e);
    expect(written).toMatchObject({ code: "OUTPUT_FAILED" });
    expect(await readdir(dir)).toEqual([]);

    await bundle.finish({ trials: [], findings: [], reason: (appended as Error).message }).catch(() => {});
    const manifest = JSON.parse(await readFile(join(bundle.dir, "manifest.json"), "utf8")) as { status: string; reason: string; files: unknown[] };
    expect(manifest.status).toBe("partial");
    expect(manifest.reason).toMatch(/^cannot write .*runtime\.jsonl: no space left on device/);
    expect(manifest.files).toEqual([]);
    expect((await readdir(bundle.dir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });
});
