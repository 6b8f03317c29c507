import { HarnessError } from "../src/errors.js";
import type { Scenario } from "../src/scenario/define.js";
import initStack from "./init-stack/index.js";
import dockerStopTimeout from "./docker-stop-timeout/index.js";
import signalBacklog from "./signal-backlog/index.js";
import sigtermRace from "./sigterm-race/index.js";
import tzMatrix from "./tz-matrix/index.js";
import tzMissingZoneinfo from "./tz-missing-zoneinfo/index.js";
import tzCgoCache from "./tz-cgo-cache/index.js";
import tzLocaltimeMount from "./tz-localtime-mount/index.js";
import tzDockerfileOrder from "./tz-dockerfile-order/index.js";
import localeMissing from "./locale-missing/index.js";
import tzGdbSnapshot from "./tz-gdb-snapshot/index.js";

// `any`: each scenario has its own request type, which only its own code reads.
export const SCENARIOS: readonly Scenario<any>[] = [sigtermRace, signalBacklog, initStack, dockerStopTimeout, tzMatrix, tzMissingZoneinfo, tzCgoCache, tzLocaltimeMount, tzDockerfileOrder, localeMissing, tzGdbSnapshot];

export function findScenario(name: string): Scenario {
  const scenario = SCENARIOS.find((s) => s.name === name);
  if (!scenario) {
    throw new HarnessError("UNKNOWN_SCENARIO", `unknown scenario "${name}"; known: ${SCENARIOS.map((s) => s.name).join(", ")} (forensics list)`);
  }
  return scenario;
}
