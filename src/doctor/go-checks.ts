// The seed's chapter 1 self-check, run on the host: go version and GOROOT, a real static
// build, a cross-build to linux/arm64. Each build is checked by reading the ELF it wrote.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { isHarnessError } from "../errors.js";
import { EM_AARCH64, EM_X86_64, hasInterpreter, readElfMachine } from "../probe/elf.js";
import { hostGoArch, makeGoEnv, readGoEnv, resolveGoBinary, runGoBuild } from "../probe/go-toolchain.js";
import { resolveProbesDir } from "../probe/package-root.js";
import type { CheckOutcome, CheckSpec } from "./check-spec.js";
import { judgeGoToolchain, readGoDirective } from "./go-version.js";

const INSTALL_GO = `install Go 1.21+ into /usr/local/go from https://go.dev/dl/ (tar -C /usr/local -xzf go1.*.linux-${hostGoArch()}.tar.gz) or put go on PATH`;
const TINY_PROGRAM = 'package main\n\nimport "os"\n\nfunc main() { os.Stdout.WriteString("static ok\\n") }\n';
const MACHINES: Record<number, string> = { 3: "i386", 40: "ARM", [EM_X86_64]: "x86-64", [EM_AARCH64]: "AArch64" };

export const goCheck: CheckSpec = {
  id: "go",
  title: "Go toolchain",
  blocks: ["runtime:namespace", "runtime:docker"],
  command: "go env GOVERSION GOROOT GOTOOLCHAIN",
  timeoutMs: 10_000,
  async run(signal) {
    const go = await resolveGo();
    if (typeof go !== "string") return go;
    // Outside the module, so an old go reports itself instead of fetching go.mod's toolchain.
    const env = await readGoEnv(["GOVERSION", "GOROOT", "GOTOOLCHAIN"], { go, cwd: tmpdir(), env: makeGoEnv(), cancelSignal: signal });
    const { GOVERSION = "?", GOROOT = "?", GOTOOLCHAIN = "auto" } = env;
    const required = readGoDirective(await readFile(join(resolveProbesDir(), "go.mod"), "utf8")) ?? "1.21";
    const verdict = judgeGoToolchain(GOVERSION, required, GOTOOLCHAIN);
    return { ok: verdict.ok, detail: `${GOVERSION} at ${go}, GOROOT ${GOROOT}; ${verdict.note}`, fix: verdict.fix };
  },
};

export const staticBuildCheck: CheckSpec = {
  id: "static-build",
  title: "Static Go build",
  blocks: ["runtime:namespace", "runtime:docker"],
  command: "CGO_ENABLED=0 go build -o hello main.go && readelf -l hello | grep INTERP",
  // A cold build cache compiles the runtime first.
  timeoutMs: 90_000,
  run: (signal) =>
    buildTinyProgram(hostGoArch(), signal, async (binary, bytes) => {
      if (hasInterpreter(bytes)) {
        return {
          ok: false,
          detail: "CGO_ENABLED=0 go build wrote a dynamically linked binary (it has a PT_INTERP header)",
          fix: "remove what forces external linking (check `go env GOFLAGS CC` and -ldflags=-linkmode=external), then run forensics doctor again",
        };
      }
      const ran = await execa(binary, { cancelSignal: signal, reject: false });
      if (ran.stdout.trim() !== "static ok") {
        return { ok: false, detail: `the static binary did not run: ${ran.stderr.trim() || `exit ${ran.exitCode}`}`, fix: `run ${binary} by hand` };
      }
      return { ok: true, detail: `CGO_ENABLED=0 → static ${describeElf(bytes)}, no PT_INTERP; it ran` };
    }),
};

export const crossBuildCheck: CheckSpec = {
  id: "cross-build",
  title: "Cross-build linux/arm64",
  blocks: ["goarch:arm64"],
  command: "CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -o hello main.go && readelf -h hello",
  timeoutMs: 90_000,
  run: (signal) =>
    buildTinyProgram("arm64", signal, async (_binary, bytes) => {
      const machine = readElfMachine(bytes);
      if (machine !== EM_AARCH64 || hasInterpreter(bytes)) {
        return {
          ok: false,
          detail: `GOARCH=arm64 produced ${describeElf(bytes)}${hasInterpreter(bytes) ? " with PT_INTERP" : ""}, expected a static AArch64 ELF (e_machine ${EM_AARCH64})`,
          fix: `reinstall Go (${INSTALL_GO}); its standard library must build for every GOARCH`,
        };
      }
      return { ok: true, detail: `GOOS=linux GOARCH=arm64 → static ${describeElf(bytes)}` };
    }),
};

async function resolveGo(): Promise<string | CheckOutcome> {
  try {
    return await resolveGoBinary();
  } catch (err) {
    if (!isHarnessError(err)) throw err;
    return { ok: false, detail: "go not found on PATH or at /usr/local/go/bin/go", fix: INSTALL_GO };
  }
}

/** Builds TINY_PROGRAM for linux/goarch with CGO_ENABLED=0 in a throwaway directory. */
async function buildTinyProgram(
  goarch: string,
  signal: AbortSignal,
  judge: (binary: string, bytes: Buffer) => Promise<CheckOutcome>,
): Promise<CheckOutcome> {
  const go = await resolveGo();
  if (typeof go !== "string") return { ok: false, detail: `not tested: ${go.detail}`, fix: go.fix };
  const dir = await mkdtemp(join(tmpdir(), "forensics-doctor-"));
  try {
    await writeFile(join(dir, "main.go"), TINY_PROGRAM);
    const binary = join(dir, "hello");
    const env = { ...makeGoEnv(), CGO_ENABLED: "0", GOOS: "linux", GOARCH: goarch };
    await runGoBuild(["main.go"], binary, { go, cwd: dir, env, cancelSignal: signal });
    return await judge(binary, await readFile(binary));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function describeElf(bytes: Buffer): string {
  const machine = readElfMachine(bytes);
  return `${MACHINES[machine] ?? `e_machine ${machine}`} ELF, ${(bytes.length / 1e6).toFixed(1)} MB`;
}
