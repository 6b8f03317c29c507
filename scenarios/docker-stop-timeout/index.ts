import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { ObserverName } from "../../src/capture/observer.js";
import { localAddresses, processTree, tcpSocketsOf, type TcpSocket } from "../../src/runtime/procfs.js";
import { defineScenario, type SweepContext, type TrialHookContext } from "../../src/scenario/define.js";
import { waitForProbeEvent } from "../shared/hooks.js";
import { analyseStopTrial } from "./analysis.js";
import { judgeS5, STOP_CLAIMS } from "./claims.js";
import { render } from "./render.js";
import type { StopRequest } from "./request.js";

// docker stop against a Go HTTP server with a request in flight: the probe's graceful
// Shutdown waits for that request (-handler long), and `container.stop(-t)` (docker stop
// semantics on both runtimes: SIGTERM, the grace period, SIGKILL) either outlasts it or not.
// The client is the harness itself, from the host: on the namespace runtime over loopback
// (the container shares the host's network), on docker over the container's bridge address.
// A user's program (--binary, --image) reports neither its port nor its requests: the port
// is the one it listens on (its own sockets in /proc, or --port), the request goes to
// --path, and it is in flight once the program's side of the connection exists.

const DEFAULT_TIMEOUTS_S = [1, 4];
const DEFAULT_HANDLER_MS = 2_000;
const LISTEN_TIMEOUT_MS = 5_000;
/** A user's program may take longer to start listening than our probe. */
const TARGET_LISTEN_TIMEOUT_MS = 10_000;
const DEFAULT_PATH = "/";

const WHOLE = /^\d+$/;
function parseTimeouts(value: string): number[] {
  const v = value.split(",").map((s) => (WHOLE.test(s.trim()) ? Number(s) : NaN));
  if (v.some((n) => !Number.isInteger(n) || n < 0 || n > 60)) throw new Error(`expected comma-separated whole seconds from 0 to 60, got "${value}"`);
  return v;
}
function parsePort(value: string): number {
  const n = WHOLE.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65_535) throw new Error(`expected a TCP port from 1 to 65535, got "${value}"`);
  return n;
}
function parsePath(value: string): string {
  if (!value.startsWith("/") || /\s/.test(value)) throw new Error(`expected a request path starting with / (a query may follow), got "${value}"`);
  return value;
}
function parseHandlerMs(value: string): number {
  const n = WHOLE.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 60_000) throw new Error(`expected whole ms from 1 to 60000, got "${value}"`);
  return n;
}

export default defineScenario<StopRequest>({
  name: "docker-stop-timeout",
  summary: "docker stop -t N against a Go HTTP server whose Shutdown waits for a request in flight: SIGTERM → SIGKILL interval, exit code, the client's end (S5)",
  help: `docker-stop-timeout reports for every trial: when SIGTERM and SIGKILL were generated
  (kernel) and their interval against -t, the probe's shutdown-begin/shutdown-end, the exit
  status (0, 137, 143…), and how the request in flight ended for the client (a response or
  a reset). The namespace runtime does what the engine does: SIGTERM, the grace period, SIGKILL.
  With --binary or --image, your HTTP server: the client asks for --path (default /) on the
  port it listens on (found from its sockets, or --port); its Shutdown begins where the
  kernel's uprobe sees SIGTERM reach os/signal.process (a Go binary with symbols), Go's
  default action shows as runtime.dieFromSignal, and it ends at the program's exit. A
  stripped or non-Go program still gets the SIGTERM → SIGKILL interval, exit and client; S5
  is then inconclusive, saying why.`,
  claims: [STOP_CLAIMS.S5],
  probe: "httpstop",
  targets: ["binary", "image"],
  inits: ["none", "tini", "dumb-init", "docker-init"],
  defaultInits: ["none", "tini", "dumb-init"],
  observers: { supported: ["kernel", "strace"], defaultSets: [["kernel"]] },
  axes: {},
  options: {
    stopTimeouts: { flag: "--stop-timeouts <s,...>", description: `docker stop -t values, one trial each (default ${DEFAULT_TIMEOUTS_S.join(",")})`, parse: parseTimeouts },
    handlerMs: { flag: "--handler-ms <ms>", description: `how long the probe's request in flight takes, i.e. what Shutdown waits for (default ${DEFAULT_HANDLER_MS}; not for --binary/--image)`, parse: parseHandlerMs, appliesTo: "probe" },
    path: { flag: "--path <path>", description: `--binary/--image: the request kept in flight, e.g. /slow?s=5 (default ${DEFAULT_PATH})`, parse: parsePath, appliesTo: "target" },
    port: { flag: "--port <n>", description: "--binary/--image: the port your server listens on (default: the one it listens on, from its sockets)", parse: parsePort, appliesTo: "target" },
  },
  signals: [15],
  // docker needs the server on the container's own address; the namespace container shares the host's network: loopback only.
  target: (variant) => ({ args: [`-listen=${variant.runtime === "docker" ? "0.0.0.0:0" : "127.0.0.1:0"}`], env: {}, files: [] }),
  sends: () => [],
  settleMs: () => 2_000,
  afterSends: stopWithRequestInFlight,

  async sweep(ctx: SweepContext<StopRequest>) {
    const timeouts = (ctx.sweep.options.stopTimeouts as number[] | undefined) ?? DEFAULT_TIMEOUTS_S;
    const handlerMs = (ctx.sweep.options.handlerMs as number | undefined) ?? DEFAULT_HANDLER_MS;
    const path = (ctx.sweep.options.path as string | undefined) ?? DEFAULT_PATH;
    const port = ctx.sweep.options.port as number | undefined;
    const own = ctx.target.kind === "probe";
    for (const observers of ctx.sweep.observerSets) {
      for (const stopTimeoutS of timeouts) {
        for (let i = 0; i < ctx.sweep.trials; i++) {
          const base = { observers: observers as ObserverName[], stopTimeoutS };
          await ctx.runTrial(
            own
              ? { ...base, intent: `stop -t ${stopTimeoutS} with a ${handlerMs} ms request in flight`, handlerMs }
              : { ...base, intent: `stop -t ${stopTimeoutS} with GET ${path} in flight`, path, ...(port !== undefined ? { port } : {}) },
          );
        }
      }
    }
  },

  render,
  analyse: (variant, trials) => [judgeS5(variant, trials.map(analyseStopTrial))],
});

/** Waits for the server, starts a slow request, stops the container while it is in flight, records what the client saw. */
async function stopWithRequestInFlight(ctx: TrialHookContext<StopRequest>): Promise<void> {
  const server = ctx.target.kind === "probe" ? await probeServer(ctx) : await programServer(ctx);
  if ("error" in server) {
    await ctx.note("client", { outcome: "not-started", error: server.error });
    return;
  }
  const url = `http://${server.host}:${server.port}${server.path}`;
  await ctx.note("client-begin", { url });
  const client = get(url, (ctx.request.handlerMs ?? 0) + ctx.request.stopTimeoutS * 1000 + 10_000);
  const inFlight = await server.inFlight(client.localPort);
  await ctx.note("stop-begin", { timeoutS: ctx.request.stopTimeoutS, requestInFlight: inFlight });
  await ctx.container.stop(ctx.request.stopTimeoutS);
  await ctx.note("stop-end", {});
  const result = await client.result;
  await ctx.note("client", result, result.tNs);
}

interface Server {
  host: string;
  port: number;
  path: string;
  /** Resolves once the server has the request (true), or false when that was not seen in time. */
  inFlight(localPort: Promise<number | null>): Promise<boolean>;
}

/** Our probe reports where it listens and when a request began. */
async function probeServer(ctx: TrialHookContext<StopRequest>): Promise<Server | { error: string }> {
  const listening = await waitForProbeEvent(ctx.container, "listening", LISTEN_TIMEOUT_MS);
  if (!listening) return { error: `the probe did not report listening within ${LISTEN_TIMEOUT_MS} ms` };
  const port = Number(listening.fields.port);
  const addrs = (listening.fields.addrs as string[] | undefined) ?? [];
  const host = ctx.variant.runtime === "docker" ? (addrs.find((a) => !a.startsWith("127.")) ?? null) : "127.0.0.1";
  if (host === null) return { error: `the container reported no address besides loopback (${addrs.join(", ")})` };
  // ?ms= sets how long this request's handler takes (the probe's -handler otherwise).
  return { host, port, path: `/slow?ms=${ctx.request.handlerMs}`, inFlight: async () => (await waitForProbeEvent(ctx.container, "request-begin", 3_000)) !== null };
}

/**
 * A user's program: the first port it listens on (or --port), found in its own sockets;
 * the host reaches it over loopback on the namespace runtime (the host's network) and over
 * the container's own address on docker. The request is in flight once the program holds
 * the accepted connection: Shutdown then waits for it.
 */
async function programServer(ctx: TrialHookContext<StopRequest>): Promise<Server | { error: string }> {
  const wanted = ctx.request.port;
  const deadline = Date.now() + TARGET_LISTEN_TIMEOUT_MS;
  let found: { pid: number; socket: TcpSocket } | null = null;
  while (found === null) {
    for (const pid of await processTree(ctx.gatePid)) {
      const socket = (await tcpSocketsOf(pid)).find((s) => s.state === "listen" && (wanted === undefined || s.local.port === wanted));
      if (socket) {
        found = { pid, socket };
        break;
      }
    }
    if (found) break;
    const on = wanted === undefined ? "any TCP port" : `port ${wanted}`;
    if ((await ctx.container.wait(0)) !== null) return { error: `the program ended before it listened on ${on}` };
    if (Date.now() > deadline) return { error: `the program did not listen on ${on} within ${TARGET_LISTEN_TIMEOUT_MS} ms` };
    await sleep(50);
  }
  const { pid, socket } = found;
  const bound = socket.local.address;
  const any = bound === "0.0.0.0" || bound === "::";
  const loopback = bound.startsWith("127.") || bound === "0000:0000:0000:0000:0000:0000:0000:0001";
  let host: string | null;
  if (ctx.variant.runtime === "namespace") host = any || loopback ? "127.0.0.1" : bound.includes(":") ? null : bound;
  else if (loopback) return { error: `the program listens on ${bound}:${socket.local.port}, loopback inside its container: the host cannot reach it` };
  else host = any ? ((await localAddresses(pid)).find((a) => !a.startsWith("127.")) ?? null) : bound.includes(":") ? null : bound;
  if (host === null) return { error: `no IPv4 address reaches the program's socket ${bound}:${socket.local.port}` };
  return {
    host,
    port: socket.local.port,
    path: ctx.request.path ?? DEFAULT_PATH,
    async inFlight(localPort) {
      const port = await localPort;
      if (port === null) return false;
      const until = Date.now() + 3_000;
      while (Date.now() < until) {
        if ((await tcpSocketsOf(pid)).some((s) => s.state === "established" && s.remote.port === port)) return true;
        await sleep(10);
      }
      return false;
    },
  };
}

interface ClientResult {
  outcome: "response" | "reset" | "error" | "timeout";
  status?: number;
  body?: string;
  error?: string;
  code?: string;
  tNs: string;
  [k: string]: unknown;
}

const nowNs = (): string => `${Math.round((performance.timeOrigin + performance.now()) * 1000)}000`;

/** One GET without keep-alive; result-shaped: a reset or a hang-up is what the trial measures. localPort: the client's end of the connection, once connected. */
function get(url: string, timeoutMs: number): { result: Promise<ClientResult>; localPort: Promise<number | null> } {
  let connected: (port: number | null) => void = () => {};
  const localPort = new Promise<number | null>((resolve) => (connected = resolve));
  const result = new Promise<ClientResult>((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ outcome: "response", status: res.statusCode ?? 0, body: body.slice(0, 200), tNs: nowNs() }));
      res.on("error", (err: NodeJS.ErrnoException) => resolve({ outcome: "reset", status: res.statusCode ?? 0, error: err.message, code: err.code, tNs: nowNs() }));
    });
    req.on("timeout", () => {
      req.destroy(new Error(`no answer within ${timeoutMs} ms`));
    });
    req.on("socket", (socket) => socket.once("connect", () => connected(socket.localPort ?? null)));
    req.on("error", (err: NodeJS.ErrnoException) => {
      connected(null);
      const reset = err.code === "ECONNRESET" || /socket hang up/.test(err.message);
      resolve({ outcome: reset ? "reset" : /no answer within/.test(err.message) ? "timeout" : "error", error: err.message, code: err.code, tNs: nowNs() });
    });
  });
  return { result, localPort };
}
