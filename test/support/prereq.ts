// What a test needs from the host (the Docker engine, strace, root, a runtime's preflight).
// On a laptop a missing prerequisite skips the test; under CI=true it fails, because there
// a skip would hide that the thing was never tested.

import Docker from "dockerode";
import { execa } from "execa";
import { expect, type TestContext } from "vitest";
import { checkKernelObserver } from "../../src/capture/kernel.js";
import { isHarnessError } from "../../src/errors.js";
import type { Runtime } from "../../src/runtime/runtime.js";

export const CI = process.env.CI === "true";

/**
 * For describe.skipIf: the reason to skip (`missing`) off CI; under CI=true null, so the
 * tests run and fail on the missing piece themselves.
 */
export const skipReason = (missing: string | null): string | null => (CI ? null : missing);

/** Inside a test: skips it when `missing` names what is missing; under CI=true fails it. */
export function skipUnlessCI(ctx: TestContext, missing: string | null): void {
  if (missing === null) return;
  if (!CI) ctx.skip();
  expect.fail(`CI=true, and this test needs ${missing}`);
}

/** Whether the Docker engine DOCKER_HOST names answers within 3 s. */
export async function dockerReachable(): Promise<boolean> {
  const docker = new Docker();
  const ping = docker.ping.bind(docker) as unknown as (opts: { abortSignal: AbortSignal }) => Promise<unknown>;
  return ping({ abortSignal: AbortSignal.timeout(3_000) }).then(
    () => true,
    () => false,
  );
}

/** null when the engine answers, else what is missing. */
export const missingDocker = async (): Promise<string | null> => ((await dockerReachable()) ? null : "a running Docker engine");

/** null when this process is root, else what is missing. */
export const missingRoot = (): string | null => (process.getuid?.() === 0 ? null : "root");

/** null when `name` runs (`name --version`), else what is missing. */
export async function missingTool(name: string): Promise<string | null> {
  const r = await execa(name, ["--version"], { reject: false });
  return r.failed && r.code === "ENOENT" ? `${name} on PATH` : null;
}

/** null when the runtime's preflight passes, else its message. */
export const missingRuntime = (runtime: Runtime): Promise<string | null> =>
  runtime.preflight().then(
    () => null,
    (err: unknown) => `the ${runtime.kind} runtime (${isHarnessError(err) ? err.message : String(err)})`,
  );

/** null when the kernel observer can attach here (tracefs, the events it needs), else its message. */
export const missingKernelObserver = (): Promise<string | null> =>
  checkKernelObserver().then(
    () => null,
    (err: unknown) => (isHarnessError(err) ? err.message : String(err)),
  );
