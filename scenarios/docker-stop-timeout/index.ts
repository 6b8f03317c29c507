import http from "node:http";
import type { ObserverName } from "../../src/capture/observer.js";
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

const DEFAULT_TIMEOUTS_S = [1, 4];
const DEFAULT_HANDLER_MS = 2_000;
const LISTEN_TIMEOUT_MS = 5_000;

const WHOLE = /^\d+$/;
function parseTimeouts(value: string): number[] {
  const v = value.split(",").map((s) => (WHOLE.test(s.trim()) ? Number(s) : NaN));
  if (v.some((n) => !Number.isInteger(n) || n < 0 || n > 60)) throw new Error(`expected comma-separated whole seconds from 0 to 60, got "${value}"`);
  return v;
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
  a reset). The namespace runtime does what the engine does: SIGTERM, the grace period, SIGKILL.`,
  claims: [STOP_CLAIMS.S5],
  probe: "httpstop",
  targets: [],
  inits: ["none", "tini", "dumb-init", "docker-init"],
  defaultInits: ["none", "tini", "dumb-init"],
  observers: { supported: ["kernel", "strace"], defaultSets: [["kernel"]] },
  axes: {},
  options: {
    stopTimeouts: { flag: "--stop-timeouts <s,...>", description: `docker stop -t values, one trial each (default ${DEFAULT_TIMEOUTS_S.join(",")})`, parse: parseTimeouts },
    handlerMs: { flag: "--handler-ms <ms>", description: `how long the request in flight takes, i.e. what Shutdown waits for (default ${DEFAULT_HANDLER_MS})`, parse: parseHandlerMs },
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
    for (const observers of ctx.sweep.observerSets) {
      for (const stopTimeoutS of timeouts) {
        for (let i = 0; i < ctx.sweep.trials; i++) {
          await ctx.runTrial({ observers: observers as ObserverName[], intent: `stop -t ${stopTimeoutS} with a ${handlerMs} ms request in flight`, stopTimeoutS, handlerMs });
        }
      }
    }
  },

  render,
  analyse: (variant, trials) => [judgeS5(variant, trials.map(analyseStopTrial))],
});

/** Waits for the server, starts a slow request, stops the container while it is in flight, records what the client saw. */
async function stopWithRequestInFlight(ctx: TrialHookContext<StopRequest>): Promise<void> {
  const listening = await waitForProbeEvent(ctx.container, "listening", LISTEN_TIMEOUT_MS);
  if (!listening) {
    await ctx.note("client", { outcome: "not-started", error: `the probe did not report listening within ${LISTEN_TIMEOUT_MS} ms` });
    return;
  }
  const port = Number(listening.fields.port);
  const addrs = (listening.fields.addrs as string[] | undefined) ?? [];
  const host = ctx.variant.runtime === "docker" ? (addrs.find((a) => !a.startsWith("127.")) ?? null) : "127.0.0.1";
  if (host === null) {
    await ctx.note("client", { outcome: "not-started", error: `the container reported no address besides loopback (${addrs.join(", ")})` });
    return;
  }
  // ?ms= sets how long this request's handler takes (the probe's -handler otherwise).
  const url = `http://${host}:${port}/slow?ms=${ctx.request.handlerMs}`;
  await ctx.note("client-begin", { url });
  const client = get(url, ctx.request.handlerMs + ctx.request.stopTimeoutS * 1000 + 5_000);
  const begun = await waitForProbeEvent(ctx.container, "request-begin", 3_000);
  await ctx.note("stop-begin", { timeoutS: ctx.request.stopTimeoutS, requestInFlight: begun !== null });
  await ctx.container.stop(ctx.request.stopTimeoutS);
  await ctx.note("stop-end", {});
  const result = await client;
  await ctx.note("client", result, result.tNs);
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

/** One GET without keep-alive; result-shaped: a reset or a hang-up is what the trial measures. */
function get(url: string, timeoutMs: number): Promise<ClientResult> {
  return new Promise((resolve) => {
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
    req.on("error", (err: NodeJS.ErrnoException) => {
      const reset = err.code === "ECONNRESET" || /socket hang up/.test(err.message);
      resolve({ outcome: reset ? "reset" : /no answer within/.test(err.message) ? "timeout" : "error", error: err.message, code: err.code, tNs: nowNs() });
    });
  });
}
