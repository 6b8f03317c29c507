// How to get each host tool the harness uses, on Debian/Ubuntu: one table for errors,
// doctor and the runtimes, so a fix is spelled the same everywhere.
export const INSTALL_HINTS = {
  strace: "apt-get install -y strace",
  gdb: "apt-get install -y gdb",
  tini: "apt-get install -y tini",
  "dumb-init": "apt-get install -y dumb-init",
  mkfifo: "apt-get install -y coreutils",
  docker: "apt-get install -y docker.io",
  gcc: "apt-get install -y gcc",
  "musl-gcc": "apt-get install -y musl-tools",
} as const;

export type HintedTool = keyof typeof INSTALL_HINTS;

/** The fix for a missing tool: its install command, or a generic one for tools not in the table. */
export const installHint = (tool: string): string => (tool in INSTALL_HINTS ? INSTALL_HINTS[tool as HintedTool] : `install ${tool}`);
