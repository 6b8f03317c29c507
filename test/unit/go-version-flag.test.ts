import { readFileSync } from "node:fs";
import { join } from "node:path";
import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { readGoDirective } from "../../src/doctor/go-version.js";
import { MIN_GO, parseGoVersionFlag } from "../../src/probe/go-toolchain.js";
import { resolveProbesDir } from "../../src/probe/package-root.js";

describe("parseGoVersionFlag (run --go)", () => {
  it.each([
    ["1.27.3", "1.27.3"],
    ["go1.27.3", "1.27.3"],
    [" 1.21.0 ", "1.21.0"],
    ["1.22rc1", "1.22rc1"],
    ["go1.21rc2", "1.21rc2"],
  ])("accepts %j as %j", (value, release) => {
    expect(parseGoVersionFlag(value)).toBe(release);
  });

  it.each(["abc", "", "1", "1.27.3.4", "v1.27.3", "1.27.x", "go 1.27.3", "1.27beta1"])("rejects %j as not a release, naming the form", (value) => {
    expect(() => parseGoVersionFlag(value)).toThrow(InvalidArgumentError);
    expect(() => parseGoVersionFlag(value)).toThrow(/expected a Go release such as 1\.27\.3 or go1\.27\.3/);
  });

  it.each(["0.0.1", "1.20", "1.20.14", "go1.19.2", "1.20rc1"])("rejects %j: needs Go ≥ 1.21", (value) => {
    expect(() => parseGoVersionFlag(value)).toThrow(InvalidArgumentError);
    expect(() => parseGoVersionFlag(value)).toThrow(/is too old: forensics needs Go ≥ 1\.21 to build its probes/);
  });

  it("rejects a language version (1.22) and names the release to use", () => {
    expect(() => parseGoVersionFlag("1.22")).toThrow(/"1\.22" is a language version, not a Go release: name a release such as 1\.22\.0/);
  });

  it("MIN_GO is go-probes/go.mod's go line", () => {
    expect(readGoDirective(readFileSync(join(resolveProbesDir(), "go.mod"), "utf8"))).toBe(MIN_GO);
  });
});
