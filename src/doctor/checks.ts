// Every host check `forensics doctor` makes. Each runs the real thing (attaches with
// ptrace, creates a PID namespace, builds Go) rather than looking for files, because a
// present tool can still be forbidden to work: seccomp, Yama, a missing capability.

import { readFile } from "node:fs/promises";
import { execa } from "execa";
import { resolveTool } from "../capture/tools.js";
import { hasInterpreter } from "../probe/elf.js";
import { runCheck, type CheckOutcome, type CheckSpec } from "./check-spec.js";
import { describeDockerHost, readDockerEngine } from "../runtime/docker-engine.js";
import { INSTALL_HINTS } from "../install-hints.js";
import { launchers } from "../probe/launchers.js";
import { createRuntime } from "../runtime/index.js";
import { isHarnessError } from "../errors.js";
import { crossBuildCheck, goCheck, staticBuildCheck } from "./go-checks.js";
import { tracefsCheck, tracepointsCheck, uprobesCheck } from "./kernel-checks.js";
import { judgeDoctor, type DoctorReport } from "./report.js";

const TOOL_TIMEOUT_MS = 5_000;

const straceCheck: CheckSpec = {
  id: "strace",
  title: "strace",
  blocks: ["runtime:namespace", "attachment:strace"],
  command: "strace -V",
  timeoutMs: TOOL_TIMEOUT_MS,
  run: (signal) => checkToolVersion("strace", ["-V"], INSTALL_HINTS.strace, signal),
};

const gdbCheck: CheckSpec = {
  id: "gdb",
  title: "gdb",
  // S4 reads runtime.sig through gdb, S6 compares thread stacks with the g0/gsignal bounds.
  blocks: ["attachment:gdb", "claim:S4", "claim:S6"],
  command: "gdb --version",
  timeoutMs: TOOL_TIMEOUT_MS,
  run: (signal) => checkToolVersion("gdb", ["--version"], INSTALL_HINTS.gdb, signal),
};

const YAMA_SCOPE = "/proc/sys/kernel/yama/ptrace_scope";

const ptraceCheck: CheckSpec = {
  id: "ptrace",
  title: "ptrace permission",
  blocks: ["runtime:namespace", "attachment:strace", "attachment:gdb"],
  command: "sleep 30 & strace -e trace=none -p $!",
  timeoutMs: TOOL_TIMEOUT_MS,
  async run(signal) {
    const strace = await findTool("strace");
    if (strace === null) {
      return { ok: false, detail: "not tested: strace is missing", fix: `${INSTALL_HINTS.strace}, then run forensics doctor again` };
    }
    const scope = (await readFile(YAMA_SCOPE, "utf8").catch(() => null))?.trim();
    const yama = scope === undefined ? "no Yama LSM" : `kernel.yama.ptrace_scope=${scope}`;
    // The target is a sibling, not a child of strace: the same relation strace has to a
    // trial's gate, so Yama's scope 1 (descendants only) is caught here as it would be there.
    const target = execa("sleep", ["30"], { cancelSignal: signal, reject: false });
    try {
      const stderr = await attachBriefly(strace, target.pid ?? 0, signal);
      const verdict = readPtraceVerdict(stderr);
      if (verdict === "attached") return { ok: true, detail: `strace attached to a running process and detached (${yama})` };
      return {
        ok: false,
        detail: `strace -p could not attach: ${firstLine(stderr) || "no output"} (${yama})`,
        fix:
          verdict === "denied"
            ? "run as root or with CAP_SYS_PTRACE (docker run --cap-add SYS_PTRACE …), and allow attaching to non-children: sysctl -w kernel.yama.ptrace_scope=0"
            : "run `sleep 30 & strace -e trace=none -p $!` by hand to see why strace cannot attach",
      };
    } finally {
      target.kill("SIGKILL");
      await target;
    }
  },
};

/** From strace's stderr: did it attach, was ptrace denied (EPERM), or something else. */
export function readPtraceVerdict(stderr: string): "attached" | "denied" | "failed" {
  if (/Process \d+ attached/.test(stderr)) return "attached";
  if (/Operation not permitted|EPERM/.test(stderr)) return "denied";
  return "failed";
}

// strace announces the attach on stderr; SIGINT then makes it detach and exit cleanly.
async function attachBriefly(strace: string, pid: number, signal: AbortSignal): Promise<string> {
  const tracer = execa(strace, ["-o", "/dev/null", "-e", "trace=none", "-p", String(pid)], { cancelSignal: signal, reject: false });
  tracer.stderr.on("data", (chunk: Buffer) => {
    if (chunk.toString().includes("attached")) tracer.kill("SIGINT");
  });
  return (await tracer).stderr;
}

const pidNamespaceCheck: CheckSpec = {
  id: "pid-namespace",
  title: "PID namespace",
  blocks: ["runtime:namespace"],
  command: "nsrun -root / (the namespace runtime's own launcher)",
  timeoutMs: TOOL_TIMEOUT_MS,
  // The same check the namespace runtime makes before a run, so doctor cannot disagree with it.
  async run() {
    try {
      await createRuntime("namespace", launchers).preflight();
      return { ok: true, detail: "nsrun made a child PID 1 of new PID + mount namespaces" };
    } catch (err) {
      if (!isHarnessError(err)) throw err;
      return {
        ok: false,
        detail: err.message,
        fix:
          "run forensics as root (sudo), or in a container with CAP_SYS_ADMIN (docker run --privileged); the namespace runtime " +
          "creates no user namespace, so enabling unprivileged user namespaces does not help: without root, use --runtime docker",
      };
    }
  },
};

const dockerCheck: CheckSpec = {
  id: "docker",
  title: "Docker Engine",
  blocks: ["runtime:docker", "init:docker-init"],
  command: "docker version",
  timeoutMs: TOOL_TIMEOUT_MS,
  async run() {
    try {
      const engine = await readDockerEngine(TOOL_TIMEOUT_MS - 500);
      return { ok: true, detail: `Docker Engine ${engine.version}, API ${engine.apiVersion}, at ${engine.host}` };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const denied = /EACCES|permission denied/i.test(message);
      return {
        ok: false,
        detail: `no engine answers at ${describeDockerHost()}: ${message}`,
        fix: denied
          ? "let this user reach the socket: usermod -aG docker $USER (then log in again), or run as root"
          : process.env.DOCKER_HOST
            ? `start the engine DOCKER_HOST names, or unset DOCKER_HOST (now ${process.env.DOCKER_HOST}) to use the local one`
            : "start the engine: systemctl start docker (without systemd: dockerd >/var/log/dockerd.log 2>&1 &)",
      };
    }
  },
};

const tiniCheck: CheckSpec = {
  id: "tini",
  title: "tini",
  blocks: ["init:tini"],
  command: "tini-static --version",
  timeoutMs: TOOL_TIMEOUT_MS,
  async run(signal) {
    // The static build goes into FROM-scratch images as it is; the dynamic one needs its libc.
    const path = (await findTool("tini-static")) ?? (await findTool("tini"));
    if (path === null) return { ok: false, detail: "neither tini-static nor tini is on PATH", fix: INSTALL_HINTS.tini };
    return { ok: true, detail: await describeInit(path, signal) };
  },
};

const dumbInitCheck: CheckSpec = {
  id: "dumb-init",
  title: "dumb-init",
  blocks: ["init:dumb-init"],
  command: "dumb-init --version",
  timeoutMs: TOOL_TIMEOUT_MS,
  async run(signal) {
    const path = await findTool("dumb-init");
    if (path === null) return { ok: false, detail: "dumb-init is not on PATH", fix: INSTALL_HINTS["dumb-init"] };
    return { ok: true, detail: await describeInit(path, signal) };
  },
};

/** Every check, in the order the report lists them. */
const DOCTOR_CHECKS: readonly CheckSpec[] = [
  goCheck,
  staticBuildCheck,
  crossBuildCheck,
  straceCheck,
  gdbCheck,
  ptraceCheck,
  pidNamespaceCheck,
  dockerCheck,
  tiniCheck,
  dumbInitCheck,
  tracefsCheck,
  tracepointsCheck,
  uprobesCheck,
];

/** Runs all checks at once, each under its own timeout. */
export async function runDoctorChecks(): Promise<DoctorReport> {
  return judgeDoctor(await Promise.all(DOCTOR_CHECKS.map(runCheck)));
}

async function findTool(name: string): Promise<string | null> {
  try {
    return await resolveTool(name);
  } catch (err) {
    if (isHarnessError(err)) return null;
    throw err;
  }
}

async function checkToolVersion(name: string, args: string[], install: string, signal: AbortSignal): Promise<CheckOutcome> {
  const path = await findTool(name);
  if (path === null) return { ok: false, detail: `${name} is not on PATH`, fix: install };
  const r = await execa(path, args, { cancelSignal: signal, reject: false });
  const version = firstLine(r.stdout) || firstLine(r.stderr);
  if (r.exitCode !== 0) return { ok: false, detail: `${path} ${args.join(" ")} exited ${r.exitCode}: ${version}`, fix: `reinstall: ${install}` };
  return { ok: true, detail: `${version} at ${path}` };
}

async function describeInit(path: string, signal: AbortSignal): Promise<string> {
  const [bytes, r] = await Promise.all([readFile(path), execa(path, ["--version"], { cancelSignal: signal, reject: false })]);
  const linking = hasInterpreter(bytes) ? "dynamically linked (an image gets the libraries ldd names)" : "static";
  return `${path}, ${linking}, ${firstLine(r.stdout) || firstLine(r.stderr)}`;
}

const firstLine = (text: string): string => text.split("\n").find((l) => l.trim() !== "")?.trim() ?? "";
