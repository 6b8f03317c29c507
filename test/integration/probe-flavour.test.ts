import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { buildProbe } from "../../src/probe/build.js";
import { sharedLibraries } from "../../src/runtime/image.js";
import { missingTool, skipReason } from "../support/prereq.js";

// Probe flavours: build tags and cgo with a named C compiler. A static musl build has no
// ELF interpreter and needs nothing beside it; a glibc build needs the loader and libc.

const PT_INTERP_NAME = "/lib64/ld-linux";

describe("probe flavours", async () => {
  const missing = skipReason((await missingTool("gcc")) ?? (await missingTool("musl-gcc")));
  describe.skipIf(missing !== null)(missing ?? "available", () => {
    it("builds each flavour once, under its own cache key", async () => {
      const [plain, tzdata, glibc, musl] = await Promise.all([
        buildProbe("tz"),
        buildProbe("tz", { flavour: { tags: ["tzdata"] } }),
        buildProbe("tz", { flavour: { cgo: { cc: "gcc", static: false } } }),
        buildProbe("tz", { flavour: { cgo: { cc: "musl-gcc", static: true } } }),
      ]);
      expect(new Set([plain.hash, tzdata.hash, glibc.hash, musl.hash]).size).toBe(4);
      expect((await buildProbe("tz", { flavour: { cgo: { cc: "musl-gcc", static: true } } })).cached).toBe(true);
      expect((await readFile(glibc.path)).includes(PT_INTERP_NAME)).toBe(true);
      expect((await readFile(musl.path)).includes(PT_INTERP_NAME)).toBe(false);
      expect((await sharedLibraries(glibc.path)).map((f) => f.path)).toEqual(expect.arrayContaining([expect.stringMatching(/libc\.so\.6$/)]));
      expect(await sharedLibraries(musl.path)).toEqual([]);
    }, 240_000);
  });
});
