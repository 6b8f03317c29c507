import { access } from "node:fs/promises";
import type { Command } from "commander";
import { auditBinary, auditImage } from "../../audit/audit.js";
import { AUDIT_FAIL_EXIT, auditExitCode, formatAuditReport } from "../../audit/report.js";

export function register(program: Command): void {
  program
    .command("audit")
    .argument("<target>", "a local image (name, name:tag or id) or the path of a program binary")
    .description("check an image or a binary for what breaks signals, time zones and locales in containers, without running it (--build excepted)")
    .option("--json", "print one JSON object {target, checks: [{id, status, evidence, fix, proveWith}]}")
    .option("--build", "for an image with a go binary: build a tiny program with it (CGO_ENABLED=0, then GOARCH=arm64) in throwaway containers without network, and read what it wrote")
    .addHelpText(
      "after",
      `
An image is read through the Docker Engine API: its config by inspect, its files by the
archive endpoint of a container that is created and never started (removed at the end).
Only --build runs something from the image: its go, offline, in throwaway containers.
It is never pulled: build or pull it first. A target that starts with /, ./ or ../, or
names a file that exists here, is audited as a binary: only the binary checks run.

Checks (status ok, warn, fail or unknown):
  pid1.form, pid1.init            exec or shell form; which init, or the program as PID 1
  binary.found, binary.kind       the program ENTRYPOINT names; Go version and main module
  binary.linking, binary.cgo      static or PT_INTERP (and present?); cgo linked in
  binary.notify, binary.tzdata    os/signal.Notify linked in; time/tzdata embedded
  binary.debug                    DWARF and symbol table, or stripped
  tz.zoneinfo, tz.local           zoneinfo files; what TZ and /etc/localtime make time.Local
  locale.lang                     LANG/LC_ALL against the locale files the image holds
  config.user, config.healthcheck, config.stop, config.memory
                                  USER, HEALTHCHECK, STOPSIGNAL and stop timeout, GOMEMLIMIT
  toolchain.version, toolchain.goroot, toolchain.static-build, toolchain.cross-build
                                  only for an image that holds a go binary (seed chapter 1):
                                  read from the files; with --build the two builds really run,
                                  each in a container with no network, 1 CPU, 1 GiB, 5 min

A check that a scenario can prove names the run in proveWith, e.g.
  forensics run sigterm-race --image IMAGE

Exit status: 0 when no check fails; ${AUDIT_FAIL_EXIT} when at least one does; 66 for a target
that is not a local image, an existing path or an executable for this machine; 70 when the
Docker engine does not answer.

Examples:
  forensics audit myservice:1.4
  forensics audit ./bin/server
  forensics audit myservice:1.4 --json | jq '.checks[] | select(.status != "ok")'`,
    )
    .action(async (target: string, flags: { json?: boolean; build?: boolean }) => {
      // A path on the host wins over an image of the same name: "./server" is never an image.
      const report = (await isHostPath(target)) ? await auditBinary(target) : await auditImage(target, { build: flags.build === true });
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatAuditReport(report));
      process.exitCode = auditExitCode(report);
    });
}

async function isHostPath(target: string): Promise<boolean> {
  if (target.startsWith("/") || target.startsWith("./") || target.startsWith("../")) return true;
  return access(target).then(
    () => true,
    () => false,
  );
}
