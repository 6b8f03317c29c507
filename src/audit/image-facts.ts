// Everything the image checks read from a local image, gathered through the Engine API
// (config by inspect, files by the archive endpoints of a never-started container): the
// program ENTRYPOINT names and its bytes, the shell of a shell-form command, inits, zoneinfo,
// /etc/localtime, locale files, a Go toolchain. Judging happens elsewhere, on these facts.

import { posix } from "node:path";
import { hostGoArch } from "../probe/go-toolchain.js";
import type { ImageConfig, ImageFiles } from "../runtime/docker-image-files.js";
import { readBinaryFacts, type BinaryFacts } from "./binary-facts.js";
import { commandCandidates, readPid1, type Pid1 } from "./entrypoint.js";

/** Where Go looks for zoneinfo (time/zoneinfo_unix.go platformZoneSources); glibc reads the first. */
export const ZONEINFO_DIRS = ["/usr/share/zoneinfo", "/usr/share/lib/zoneinfo", "/usr/lib/locale/TZ", "/etc/zoneinfo"];
const INIT_PATHS = ["/tini", "/sbin/tini", "/usr/bin/tini", "/usr/local/bin/tini", "/usr/bin/tini-static", "/usr/bin/dumb-init", "/usr/local/bin/dumb-init", "/usr/bin/catatonit", "/init"];

export interface FoundFile {
  /** The path that exists (the first candidate that does). */
  path: string;
  /** Where a symlink ends, as the engine resolved it; null for a regular file. */
  linkTarget: string | null;
}

export interface ImageFacts {
  reference: string;
  config: ImageConfig;
  pid1: Pid1;
  /** The shell of a shell-form command: where it is and what it is, from its bytes. */
  shell: { found: boolean; kind: "busybox" | "bash" | "other" } | null;
  init: { found: FoundFile | null } | null;
  /** The program's file and bytes; null file when the command names nothing the image holds. */
  program: { command: string; found: FoundFile | null; facts: BinaryFacts | null; interpreterPresent: boolean | null } | null;
  /** Init binaries the image holds but ENTRYPOINT does not use. */
  unusedInits: string[];
  /** ZONEINFO_DIRS that exist, and the ZONEINFO variable's file if set. */
  zoneinfoDirs: string[];
  zoneinfoEnv: { path: string; present: boolean } | null;
  /** The zone TZ names, looked up where Go would; null when TZ needs no file. */
  tzZone: { name: string; found: string | null } | null;
  localtime: FoundFile | null;
  /** A dangling /etc/localtime symlink: the engine cannot stat through it. */
  localtimeDangling: boolean;
  locale: { name: string; found: string | null } | null;
  /** HEALTHCHECK's command (or /bin/sh for CMD-SHELL) and whether the image holds it. */
  healthcheckCommand: { command: string; found: FoundFile | null } | null;
  toolchain: ToolchainFacts | null;
}

/** One `go build` of a tiny program in a throwaway container (audit --build). */
export type ToolchainBuild =
  | { ran: false }
  | { ran: true; goarch: string; exitCode: number | null; output: string; binary: BinaryFacts | null };

export interface ToolchainFacts {
  /** CGO_ENABLED=0 builds for the image's own GOARCH and for arm64, when asked for. */
  builds: { native: ToolchainBuild; arm64: ToolchainBuild };
  go: FoundFile;
  goFacts: BinaryFacts;
  goroot: string;
  gorootFrom: "GOROOT" | "go's location";
  /** Path → present, for what a build needs. */
  files: Record<string, boolean>;
  cc: FoundFile | null;
}

export interface GatherOptions {
  /** Run the seed's chapter 1 builds with the image's go, in throwaway containers. */
  build: boolean;
}

export async function gatherImageFacts(reference: string, files: ImageFiles, options: GatherOptions): Promise<ImageFacts> {
  const { config } = files;
  const pid1 = readPid1(config.entrypoint, config.cmd);
  const find = (command: string) => findFile(files, commandCandidates(command, config.env.PATH, config.workingDir));

  const shell = pid1.shell === null ? null : await readShell(files, pid1.shell.path, find);
  const init = pid1.init === null ? null : { found: await find(pid1.init.path) };
  const program = pid1.program === null ? null : await readProgram(files, pid1.program, find);
  const unusedInits = pid1.init === null ? (await Promise.all(INIT_PATHS.map(async (p) => ((await files.stat(p)) ? p : null)))).filter((p) => p !== null) : [];

  const zoneinfoDirs = (await Promise.all(ZONEINFO_DIRS.map(async (d) => ((await files.stat(d))?.isDir ? d : null)))).filter((d) => d !== null);
  const zoneinfoVar = config.env.ZONEINFO;
  const zoneinfoEnv = zoneinfoVar ? { path: zoneinfoVar, present: (await files.stat(zoneinfoVar)) !== null } : null;
  const localtimeStat = await files.stat("/etc/localtime");
  const localtime = localtimeStat === null ? null : { path: "/etc/localtime", linkTarget: localtimeStat.linkTarget };
  // The engine resolves a symlink's target; a target it cannot stat is a dangling link.
  const localtimeDangling = localtimeStat?.isSymlink === true && (localtimeStat.linkTarget === null || (await files.stat(localtimeStat.linkTarget)) === null);

  return {
    reference,
    config,
    pid1,
    shell,
    init,
    program,
    unusedInits,
    zoneinfoDirs,
    zoneinfoEnv,
    tzZone: await findTzZone(files, config.env.TZ),
    localtime,
    localtimeDangling,
    locale: await findLocale(files, config.env),
    healthcheckCommand: await findHealthcheckCommand(config.healthcheck, find),
    toolchain: await readToolchain(files, config, find, options.build),
  };
}

async function findFile(files: ImageFiles, candidates: string[]): Promise<FoundFile | null> {
  for (const path of candidates) {
    const s = await files.stat(path);
    if (s !== null && !s.isDir) return { path, linkTarget: s.linkTarget };
  }
  return null;
}

type Find = (command: string) => Promise<FoundFile | null>;

async function readShell(files: ImageFiles, path: string, find: Find): Promise<ImageFacts["shell"]> {
  const found = await find(path);
  const bytes = found === null ? null : await files.read(found.path);
  if (bytes === null) return { found: false, kind: "other" };
  // Both print these in --version; each also decides whether `sh -c` execs its last command.
  const kind = bytes.includes("BusyBox v") ? "busybox" : bytes.includes("GNU bash") ? "bash" : "other";
  return { found: true, kind };
}

async function readProgram(files: ImageFiles, command: string, find: Find): Promise<ImageFacts["program"]> {
  const found = await find(command);
  const bytes = found === null ? null : await files.read(found.path);
  if (found === null || bytes === null) return { command, found, facts: null, interpreterPresent: null };
  const facts = readBinaryFacts(bytes);
  const interpreter = facts.kind === "elf" ? facts.interpreter : null;
  return { command, found, facts, interpreterPresent: interpreter === null ? null : (await files.stat(interpreter)) !== null };
}

async function findTzZone(files: ImageFiles, tz: string | undefined): Promise<ImageFacts["tzZone"]> {
  // time/zoneinfo_unix.go initLocal: unset → /etc/localtime; "" and "UTC" → UTC with no file;
  // ":name" is name; an absolute path is read as is; anything else is looked up in the zone dirs.
  if (tz === undefined) return null;
  const name = tz.startsWith(":") ? tz.slice(1) : tz;
  if (name === "" || name === "UTC") return null;
  const candidates = name.startsWith("/") ? [name] : ZONEINFO_DIRS.map((d) => posix.join(d, name));
  const found = await findFile(files, candidates);
  return { name, found: found?.path ?? null };
}

async function findLocale(files: ImageFiles, env: Record<string, string>): Promise<ImageFacts["locale"]> {
  // LC_ALL overrides LANG for every category (POSIX setlocale).
  const name = env.LC_ALL || env.LANG;
  // C and POSIX need no files; C.UTF-8 is built into glibc 2.35+ and musl reads no locale files at all.
  if (!name || name === "C" || name === "POSIX" || /^C\.utf-?8$/i.test(name)) return null;
  // glibc looks up "en_US.UTF-8" as en_US.utf8 (normalized codeset) in locale-archive or a directory.
  const normalized = name.replace(/\.([^@]+)/, (_, codeset: string) => `.${codeset.toLowerCase().replace(/[^a-z0-9]/g, "")}`);
  const candidates = [...new Set([name, normalized])].map((n) => `/usr/lib/locale/${n}`);
  for (const path of [...candidates, "/usr/lib/locale/locale-archive"]) {
    if ((await files.stat(path)) !== null) return { name, found: path };
  }
  return { name, found: null };
}

async function findHealthcheckCommand(test: string[] | null, find: Find): Promise<ImageFacts["healthcheckCommand"]> {
  const [kind, first] = test ?? [];
  const command = kind === "CMD-SHELL" ? "/bin/sh" : kind === "CMD" && first !== undefined ? first : null;
  return command === null ? null : { command, found: await find(command) };
}

async function readToolchain(files: ImageFiles, config: ImageConfig, find: Find, build: boolean): Promise<ToolchainFacts | null> {
  const go = (await find("go")) ?? (await findFile(files, ["/usr/local/go/bin/go"]));
  const bytes = go === null ? null : await files.read(go.path);
  if (go === null || bytes === null) return null;
  const gorootEnv = config.env.GOROOT;
  // go finds its GOROOT from its own executable path: <GOROOT>/bin/go (runtime.GOROOT, cmd/go).
  const goroot = gorootEnv || posix.dirname(posix.dirname(go.linkTarget ?? go.path));
  const arch = config.architecture;
  const paths = [
    `${goroot}/src/runtime/proc.go`,
    `${goroot}/pkg/tool/linux_${arch}/compile`,
    `${goroot}/pkg/tool/linux_${arch}/link`,
    `${goroot}/src/runtime/rt0_linux_arm64.s`,
  ];
  const present = await Promise.all(paths.map(async (p) => (await files.stat(p)) !== null));
  const goPath = go.linkTarget ?? go.path;
  // Only an image for this machine can run here. One build after the other: each compiles
  // the runtime from a cold cache, and the host is shared.
  const runs = build && arch === hostGoArch();
  const native = runs ? await runBuild(files, config, goPath, arch) : { ran: false as const };
  const arm64 = runs ? await runBuild(files, config, goPath, "arm64") : { ran: false as const };
  return {
    builds: { native, arm64 },
    go,
    goFacts: readBinaryFacts(bytes),
    goroot,
    gorootFrom: gorootEnv ? "GOROOT" : "go's location",
    files: Object.fromEntries(paths.map((p, i) => [p, present[i]!])),
    cc: (await find("gcc")) ?? (await find("cc")),
  };
}

const BUILD_DIR = "/forensics-audit";
const TINY_PROGRAM = 'package main\n\nimport "os"\n\nfunc main() { os.Stdout.WriteString("static ok\\n") }\n';
// A cold build compiles the runtime and its dependencies on one CPU.
const BUILD_TIMEOUT_MS = 300_000;

/** The seed's `CGO_ENABLED=0 go build`, offline: GOTOOLCHAIN=local and GOPROXY=off keep go from fetching anything. */
async function runBuild(files: ImageFiles, config: ImageConfig, go: string, goarch: string): Promise<ToolchainBuild> {
  const out = `${BUILD_DIR}/hello`;
  const result = await files.runThrowaway({
    argv: [go, "build", "-o", out, "main.go"],
    env: {
      PATH: config.env.PATH ?? "/usr/local/go/bin:/usr/bin:/bin",
      ...(config.env.GOROOT ? { GOROOT: config.env.GOROOT } : {}),
      HOME: BUILD_DIR,
      // go needs a work dir; a FROM-scratch builder has no /tmp.
      TMPDIR: `${BUILD_DIR}/tmp`,
      GOCACHE: `${BUILD_DIR}/cache`,
      GOPATH: `${BUILD_DIR}/gopath`,
      GOTOOLCHAIN: "local",
      GOPROXY: "off",
      GOFLAGS: "",
      CGO_ENABLED: "0",
      GOOS: "linux",
      GOARCH: goarch,
    },
    files: [
      { path: `${BUILD_DIR}/main.go`, text: TINY_PROGRAM },
      { path: `${BUILD_DIR}/tmp/.keep`, text: "" },
    ],
    workingDir: BUILD_DIR,
    collect: out,
    timeoutMs: BUILD_TIMEOUT_MS,
  });
  return { ran: true, goarch, exitCode: result.exitCode, output: result.output, binary: result.collected && readBinaryFacts(result.collected) };
}
