// The seed's chapter 1 for an image that holds a go binary: its version (from its build
// info), a GOROOT that can build, a static build and a linux/arm64 cross-build — read from
// the files, or judged from what `audit --build` really built. Pure.

import { finding, ok, type AuditCheck } from "./check.js";
import type { ToolchainBuild, ToolchainFacts } from "./image-facts.js";

export function judgeToolchain(t: ToolchainFacts, arch: string): AuditCheck[] {
  const go = t.go.linkTarget ? `${t.go.path} → ${t.go.linkTarget}` : t.go.path;
  const version = t.goFacts.kind === "elf" && t.goFacts.go?.kind === "go" ? t.goFacts.go.goVersion : null;
  const checks: AuditCheck[] = [
    version === null
      ? finding("toolchain.version", "unknown", `${go} is in the image but carries no Go build info`, null)
      : ok("toolchain.version", `${go}: ${version} (from its build info; not run)`),
  ];
  const missing = (paths: string[]) => paths.filter((p) => !t.files[p]);
  const [proc, compile, link, arm64] = Object.keys(t.files) as [string, string, string, string];
  const goroot = `GOROOT ${t.goroot} (${t.gorootFrom})`;
  const gorootMissing = missing([proc, compile, link]);
  checks.push(
    gorootMissing.length === 0
      ? ok("toolchain.goroot", `${goroot} holds the standard library and the compiler and linker for linux/${arch}`)
      : finding("toolchain.goroot", "fail", `${goroot} lacks ${gorootMissing.join(", ")}: go build fails`, "install Go from the official tarball into /usr/local/go, or set ENV GOROOT to where it is"),
  );
  const cc = t.cc ? `a C compiler (${t.cc.path}) is there, so go defaults to CGO_ENABLED=1 and a plain go build may link dynamically` : "no C compiler, so go defaults to CGO_ENABLED=0";
  const notBuilt = "not built (audit --build builds it in a throwaway container without network)";
  checks.push(
    t.builds.native.ran
      ? judgeBuild("toolchain.static-build", t.builds.native, arch, cc)
      : missing([link]).length === 0
        ? ok("toolchain.static-build", `CGO_ENABLED=0 go build links with Go's own linker (${link}): no PT_INTERP; ${cc}; ${notBuilt}`)
        : finding("toolchain.static-build", "fail", `no linker at ${link}: no build can link`, "install a complete Go toolchain"),
    t.builds.arm64.ran
      ? judgeBuild("toolchain.cross-build", t.builds.arm64, "arm64", "")
      : missing([arm64]).length === 0
        ? ok("toolchain.cross-build", `the linux/arm64 port's sources are there (${arm64}); GOARCH=arm64 needs nothing else; ${notBuilt}`)
        : finding("toolchain.cross-build", "fail", `${arm64} is missing: GOARCH=arm64 go build cannot build the runtime`, "install the full Go distribution (a trimmed GOROOT drops other ports)"),
  );
  return checks;
}

/** A build that ran: it must have exited 0 and written a static ELF for the GOARCH asked for. */
function judgeBuild(id: string, build: Extract<ToolchainBuild, { ran: true }>, goarch: string, note: string): AuditCheck {
  const what = `CGO_ENABLED=0 GOARCH=${build.goarch} go build (throwaway container, no network)`;
  const fix = "run the same build by hand in the image to see the whole error: go build needs a complete GOROOT and a writable GOCACHE";
  if (build.exitCode === null) return finding(id, "unknown", `${what} did not finish within its time limit`, fix);
  if (build.exitCode !== 0) return finding(id, "fail", `${what} exited ${build.exitCode}: ${firstLine(build.output) || "no output"}`, fix);
  const bin = build.binary;
  if (bin === null || bin.kind !== "elf") return finding(id, "fail", `${what} exited 0 but wrote no ELF program`, fix);
  if (bin.arch !== goarch || bin.interpreter !== null) {
    return finding(id, "fail", `${what} wrote a ${bin.machine} ELF${bin.interpreter ? ` with PT_INTERP ${bin.interpreter}` : ""}, expected a static ${goarch} one`, "remove what forces external linking (GOFLAGS, -linkmode=external in the image's go env)");
  }
  return ok(id, `${what}: a static ${bin.machine} ELF, no PT_INTERP${note ? `; ${note}` : ""}`);
}

const firstLine = (text: string): string => text.split("\n").find((l) => l.trim() !== "")?.trim() ?? "";
