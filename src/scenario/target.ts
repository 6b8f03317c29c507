import { constants } from "node:fs";
import { access, readFile, stat } from "node:fs/promises";
import { basename, posix, resolve } from "node:path";
import { HarnessError } from "../errors.js";
import { EM_AARCH64, EM_X86_64, parseElfHeader } from "../probe/elf.js";
import { readGoBuildInfo } from "../probe/go-buildinfo.js";
import { sharedLibraries } from "../runtime/image.js";
import type { ImageFile, Runtime } from "../runtime/runtime.js";
import type { TargetInfo } from "./define.js";

// docs/design.md's "target": what runs in the container — one of our probes, or the user's own
// program (`--binary PATH`) or image (`--image IMAGE`). A target says which files the
// container holds beside the gate, what argv the gate execs, and where the program sits
// inside, so observers can find it; the image itself is never changed.

export type TargetChoice =
  | { kind: "probe" }
  | { kind: "binary"; path: string; args: string[] }
  | { kind: "image"; image: string; args: string[] };

export interface ResolvedTarget {
  kind: TargetChoice["kind"];
  /** How the manifest and summaries name it: the probe, the binary's host path, the image. */
  label: string;
  /** Files placed in an assembled image beside the gate (the program and its libraries). */
  files: ImageFile[];
  /** The engine image to run instead of an assembled one. */
  engineImage?: string;
  /** The program's argv; a probe's own arguments come from the scenario. */
  argv(probeArgs: string[]): string[];
  /** The program's path inside the container, as it is exec'd (a bare name is looked up in PATH). */
  programPath: string;
  /** The container's PATH, for a bare program name. */
  searchPath: string;
  /** Its process name (comm: the basename, cut at 15 bytes by the kernel). */
  programName: string;
  /** A shell-form entrypoint (`/bin/sh -c …`): PID 1 is a shell, not the program. */
  shellForm: boolean;
  /**
   * The binary observers look into (uprobes on Go's runtime): the program itself, or for a
   * shell-form entrypoint the command its script starts (the shell has no Go runtime).
   */
  observedPath?: string;
  /** The image's own environment (KEY=VALUE); empty for the probe and a binary, which get only the scenario's. */
  env: string[];
  /** A user's program: the Go release it was built with (its build info, read from the image for --image), `not-go`, or `unknown` (a shell form's script whose program is not found). Our probes say theirs when built. */
  go?: string;
}

const PROBE_PATH = "/probe";
const TARGET_DIR = "/target";
/** The PATH the engine gives a container whose image sets none. */
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const HOST_MACHINE: Record<string, number> = { x64: EM_X86_64, arm64: EM_AARCH64 };

/** Our probe, built by the caller; a dynamic (cgo) build brings the libraries it links. */
export function probeTarget(probeHostPath: string, libraries: ImageFile[] = []): ResolvedTarget {
  return {
    kind: "probe",
    label: "probe",
    files: [{ hostPath: probeHostPath, path: PROBE_PATH }, ...libraries],
    argv: (probeArgs) => [PROBE_PATH, ...probeArgs],
    programPath: PROBE_PATH,
    searchPath: DEFAULT_PATH,
    programName: "probe",
    shellForm: false,
    env: [],
  };
}

/** A Linux executable of the user's, copied into the assembled image with the libraries it links. */
export async function binaryTarget(hostPath: string, args: string[]): Promise<ResolvedTarget> {
  const path = resolve(hostPath);
  const st = await stat(path).catch(() => null);
  if (st === null || !st.isFile()) throw new HarnessError("BAD_INPUT", `--binary ${hostPath}: no such file`);
  await access(path, constants.X_OK).catch(() => {
    throw new HarnessError("BAD_INPUT", `--binary ${hostPath}: not executable (chmod +x it)`);
  });
  const bytes = await readFile(path);
  const elf = parseElfHeader(bytes);
  if (elf === null) throw new HarnessError("BAD_INPUT", `--binary ${hostPath}: not an ELF executable (a script needs its interpreter: run it from an image with --image)`);
  if (elf.machine !== HOST_MACHINE[process.arch]) throw new HarnessError("BAD_INPUT", `--binary ${hostPath}: built for ELF machine ${elf.machine}, this host runs ${process.arch}`);
  const inside = `${TARGET_DIR}/${basename(path)}`;
  return {
    kind: "binary",
    label: path,
    files: [{ hostPath: path, path: inside }, ...(await sharedLibraries(path))],
    argv: () => [inside, ...args],
    programPath: inside,
    searchPath: DEFAULT_PATH,
    programName: basename(path).slice(0, 15),
    shellForm: false,
    env: [],
    go: goVersionOf(bytes),
  };
}

/** What the variant's `go` axis says for a program we did not build. */
function goVersionOf(bytes: Buffer): string {
  const info = readGoBuildInfo(bytes);
  return info === null ? "not-go" : info.kind === "go" ? info.goVersion : "go-before-1.18";
}

/** An image the engine has, run as the engine would run it (its entrypoint and cmd; `args` replace the cmd). */
export async function imageTarget(runtime: Runtime, image: string, args: string[]): Promise<ResolvedTarget> {
  if (!runtime.inspectImage) throw new HarnessError("USAGE", `--image runs an image of the Docker engine: add --runtime docker (or use --binary with the namespace runtime)`);
  const config = await runtime.inspectImage(image);
  const argv = [...config.entrypoint, ...(args.length > 0 ? args : config.cmd)];
  const shellCommand = isShellForm(argv) ? shellProgram(argv) : undefined;
  if (argv.length === 0) throw new HarnessError("BAD_INPUT", `image ${image} has neither an entrypoint nor a cmd: name the program after --`);
  const searchPath = config.env.find((e) => e.startsWith("PATH="))?.slice(5) ?? DEFAULT_PATH;
  return {
    kind: "image",
    label: image,
    files: [],
    engineImage: config.id,
    argv: () => argv,
    programPath: argv[0]!,
    searchPath,
    programName: basename(argv[0]!).slice(0, 15),
    shellForm: isShellForm(argv),
    ...(shellCommand !== undefined ? { observedPath: shellCommand } : {}),
    env: config.env,
    go: await imageGoVersion(runtime, config.id, image, argv, searchPath, config.workingDir),
  };
}

/**
 * The Go release the image's program was built with, read from the image's file without
 * running it (as `forensics audit` does); for a shell-form entrypoint, the program its
 * command starts (`unknown` when that is not found). An entrypoint that is not a file in
 * the image cannot start: that is bad input, said before anything runs.
 */
async function imageGoVersion(runtime: Runtime, image: string, label: string, argv: string[], searchPath: string, workingDir: string): Promise<string> {
  if (!runtime.readImageFile) return "unknown";
  const look = (command: string) => runtime.readImageFile!(image, candidatePaths(command, searchPath, workingDir || "/"));
  const first = await look(argv[0]!);
  if (first === null) {
    throw new HarnessError("BAD_INPUT", `image ${label} cannot start: its ${argv[0]!.includes("/") ? "" : "PATH has no "}${argv[0]} ${argv[0]!.includes("/") ? "is not a file in the image" : `(PATH=${searchPath})`}`);
  }
  if (!isShellForm(argv)) return goVersionOf(first.bytes);
  const command = shellProgram(argv);
  const program = command ? await look(command) : null;
  return program === null ? "unknown" : goVersionOf(program.bytes);
}

/** The program a shell form's script starts: its first word (after `exec`); undefined for an empty script. */
const shellProgram = (argv: string[]): string | undefined => (argv[2] ?? "").trim().split(/\s+/).find((word) => word !== "" && word !== "exec");

/** Where the engine's exec finds a command: an absolute path, a path from the working directory, or each PATH entry. */
function candidatePaths(command: string, searchPath: string, workingDir: string): string[] {
  if (command.startsWith("/")) return [posix.normalize(command)];
  if (command.includes("/")) return [posix.join(workingDir, command)];
  return searchPath.split(":").filter((dir) => dir.startsWith("/")).map((dir) => posix.join(dir, command));
}

/** What scenarios and runtime.jsonl see of a target. */
export const targetInfo = ({ kind, label, programPath, programName, shellForm, env }: ResolvedTarget): TargetInfo => ({ kind, label, programPath, programName, shellForm, env });

/** `sh -c …`, `/bin/sh -c …`, `/bin/bash -c …`: what Docker's shell form produces. */
export const isShellForm = (argv: string[]): boolean => /(^|\/)(ba|da|a)?sh$/.test(argv[0] ?? "") && argv[1] === "-c";

/**
 * The host path of the program (for a shell form: the one its script starts) inside a running container, through its root
 * (/proc/PID/root/…), as the gate's PATH lookup finds it; null when it is not there.
 */
export async function locateProgram(target: ResolvedTarget, pid: number): Promise<string | null> {
  const root = `/proc/${pid}/root`;
  const path = target.observedPath ?? target.programPath;
  const candidates = path.includes("/") ? [path] : target.searchPath.split(":").filter(Boolean).map((dir) => `${dir}/${path}`);
  for (const candidate of candidates) {
    const found = await stat(`${root}${candidate.startsWith("/") ? "" : "/"}${candidate}`).catch(() => null);
    if (found?.isFile()) return `${root}${candidate.startsWith("/") ? "" : "/"}${candidate}`;
  }
  return null;
}
