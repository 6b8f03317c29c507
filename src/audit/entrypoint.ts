// Who is PID 1 in a container of an image, read from its ENTRYPOINT and CMD alone: exec or
// shell form, an init in front, and which command is the program. Pure.

import { posix } from "node:path";

/** Inits that forward signals to their child and reap orphans. s6-overlay's is /init. */
const INITS = new Set(["tini", "tini-static", "dumb-init", "catatonit", "docker-init", "s6-svscan", "runsvdir", "supervisord"]);
// Options of tini and dumb-init that take a value: the program is not that value.
const INIT_OPTIONS_WITH_VALUE = new Set(["-p", "-e", "-r", "--rewrite"]);
const SHELLS = new Set(["sh", "bash", "ash", "dash", "zsh", "ksh", "mksh"]);

export interface Pid1 {
  /** ENTRYPOINT + CMD, what the engine execs. */
  argv: string[];
  form: "exec" | "shell" | "none";
  /** For the shell form: the shell and its -c command. */
  shell: { path: string; command: string } | null;
  init: { name: string; path: string } | null;
  /** The command that names the user's program: a path or a name looked up in PATH. */
  program: string | null;
}

export function readPid1(entrypoint: string[] | null, cmd: string[] | null): Pid1 {
  // With an ENTRYPOINT, CMD is its arguments; without one, CMD is the whole command.
  const argv = [...(entrypoint ?? []), ...(cmd ?? [])];
  const [first] = argv;
  if (first === undefined) return { argv, form: "none", shell: null, init: null, program: null };
  const name = posix.basename(first);
  const command = SHELLS.has(name) ? shellCommandOf(argv.slice(1)) : null;
  if (command !== null) return { argv, form: "shell", shell: { path: first, command }, init: null, program: firstWord(command) };
  if (INITS.has(name) || first === "/init") {
    return { argv, form: "exec", shell: null, init: { name: first === "/init" ? "s6-overlay" : name, path: first }, program: programAfterInit(argv.slice(1)) };
  }
  return { argv, form: "exec", shell: null, init: null, program: first };
}

/** The -c string of a shell's arguments; options may come first (Dockerfile SHELL ["/bin/bash", "-o", "pipefail", "-c"]). */
function shellCommandOf(args: string[]): string | null {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (/^-[a-zA-Z]*c[a-zA-Z]*$/.test(a)) return args[i + 1] ?? null;
    if (a === "-o" || a === "+o") i++;
    else if (!/^[-+]/.test(a)) return null;
  }
  return null;
}

/** Whether a -c command replaces the shell at once: it starts with the `exec` builtin. */
export const startsWithExec = (command: string): boolean => /^\s*exec\s+\S/.test(command);

function programAfterInit(args: string[]): string | null {
  const dashes = args.indexOf("--");
  if (dashes >= 0) return args[dashes + 1] ?? null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (INIT_OPTIONS_WITH_VALUE.has(a)) i++;
    else if (!a.startsWith("-")) return a;
  }
  return null;
}

/** The command word of a shell command: past `exec` and leading VAR=value assignments. */
function firstWord(command: string): string | null {
  const words = command.trim().split(/\s+/);
  let i = 0;
  while (i < words.length && (words[i] === "exec" || /^[A-Za-z_]\w*=/.test(words[i]!))) i++;
  const word = words[i]?.replace(/[;&|]+$/, "");
  return word ? word.replace(/^["']|["']$/g, "") : null;
}

/** Docker's default PATH when an image sets none. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The paths the kernel or execvp would try for a command, in order. */
export function commandCandidates(command: string, path: string | undefined, workingDir: string): string[] {
  if (command.startsWith("/")) return [posix.normalize(command)];
  if (command.includes("/")) return [posix.join(workingDir, command)];
  return (path ?? DEFAULT_PATH)
    .split(":")
    .filter((dir) => dir.startsWith("/"))
    .map((dir) => posix.join(dir, command));
}
