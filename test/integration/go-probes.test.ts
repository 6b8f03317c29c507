// The probes' own Go tests (flag parsing in the driver, …), run with the host's Go as part
// of the suite, so `npm test` covers both languages.
import { execa } from "execa";
import { expect, it } from "vitest";
import { makeGoEnv, resolveGoBinary } from "../../src/probe/go-toolchain.js";
import { findPackageRoot } from "../../src/probe/package-root.js";
import { join } from "node:path";

it("go test ./... passes in go-probes", async () => {
  const go = await resolveGoBinary();
  const r = await execa(go, ["test", "./..."], { cwd: join(findPackageRoot(), "go-probes"), env: makeGoEnv(), reject: false, all: true });
  expect(r.exitCode, r.all).toBe(0);
  expect(r.all).toMatch(/^ok\s+forensics\/probes\/driver/m);
}, 300_000);
