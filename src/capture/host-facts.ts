import { release } from "node:os";
import { execa } from "execa";
import { z } from "zod";
import { readDockerEngine } from "../runtime/docker-engine.js";

export const HostFacts = z.object({
  kernel: z.string(),
  node: z.string(),
  tools: z.record(z.string(), z.string().nullable()),
});
export type HostFacts = z.infer<typeof HostFacts>;

// Versions that decide how a trial behaves, recorded in every bundle's manifest. A tool
// that is missing is recorded as null, not as an error: replay must still work.
const VERSION_COMMANDS: Record<string, string[]> = {
  go: ["go", "version"],
  strace: ["strace", "-V"],
  gdb: ["gdb", "--version"],
  tini: ["tini-static", "--version"],
  "dumb-init": ["dumb-init", "--version"],
};

const DOCKER_TIMEOUT_MS = 2_000;

export async function collectHostFacts(extra: Record<string, string | null> = {}): Promise<HostFacts> {
  const tools: Record<string, string | null> = {};
  await Promise.all(
    Object.entries(VERSION_COMMANDS).map(async ([name, [cmd, ...args]]) => {
      const r = await execa(cmd!, args, { reject: false, timeout: 5_000, all: true });
      tools[name] = r.exitCode === 0 ? (r.all ?? "").split("\n")[0]!.trim() : null;
    }),
  );
  tools.docker = await readDockerEngine(DOCKER_TIMEOUT_MS).then(
    (e) => `Docker Engine ${e.version} (API ${e.apiVersion})`,
    () => null,
  );
  return { kernel: release(), node: process.version, tools: { ...tools, ...extra } };
}
