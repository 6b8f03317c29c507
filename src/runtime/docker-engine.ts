// What doctor reports about the engine. It lives in runtime/, the only layer that may
// talk to Docker, beside docker.ts whose preflight only pings.

import Docker from "dockerode";

export interface DockerEngine {
  /** Where dockerode connects: DOCKER_HOST, or its default socket. */
  host: string;
  version: string;
  apiVersion: string;
}

/** Server and API version of the engine DOCKER_HOST names; rejects when it does not answer. */
export async function readDockerEngine(timeoutMs: number): Promise<DockerEngine> {
  // Options merge over docker-modem's DOCKER_HOST/DOCKER_TLS_VERIFY defaults, so the
  // environment still decides where to connect; the timeout keeps a black-holed TCP host
  // from holding the process open for the kernel's connect timeout.
  const docker = new Docker({ timeout: timeoutMs });
  const v = await docker.version();
  return { host: describeDockerHost(), version: v.Version, apiVersion: v.ApiVersion };
}

export const describeDockerHost = (): string => process.env.DOCKER_HOST || "the default socket (unix:///var/run/docker.sock)";
