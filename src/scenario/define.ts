import type { InitKind } from "../runtime/runtime.js";
import type { Finding, TrialEvidence, TrialRequest, Variant } from "../evidence/schemas.js";

/** A claim a scenario puts to the test (ids from CLAIMS.md). */
export interface Claim {
  id: string;
  statement: string;
}

/** Knobs common to every scenario that drives a signal through the gate and driver. */
export interface SweepOptions {
  /** Explicit send offsets (µs after exec); empty: the scenario aims at its phases itself. */
  offsetsUs: number[];
  /** Trials per offset (and per strace on/off). */
  trials: number;
  /** Run each offset with and without strace attached (the observer effect is a result). */
  strace: "both" | "on" | "off";
}

export interface SweepContext {
  variant: Variant;
  options: SweepOptions;
  runTrial(request: TrialRequest): Promise<TrialEvidence>;
}

export interface TrialSummary {
  /** µs after the exec at which the signal really went out. */
  offsetUs: number;
  outcome: string;
  exitCode: number | null;
  signal: string | null;
  /** Scenario-specific facts (phase, measured boundaries…). */
  details: Record<string, string | number | null>;
}

export interface Scenario {
  name: string;
  /** One line for `forensics list`. */
  summary: string;
  claims: Claim[];
  /** go-probes/<probe> is the program under test. */
  probe: string;
  probeArgs: string[];
  /** Signal number the driver sends. */
  signal: number;
  inits: InitKind[];
  defaultInits: InitKind[];
  /** How long after the send a still-running program counts as having lost the signal. */
  settleMs(request: TrialRequest): number;
  /** Runs the trials of one variant, choosing offsets from what earlier trials measured. */
  sweep(ctx: SweepContext): Promise<void>;
  /** What one trial came to, for progress lines and `run --json`. */
  summariseTrial(trial: TrialEvidence): TrialSummary;
  /** Verdicts for one variant, computed from its trials only. */
  analyse(variant: Variant, trials: TrialEvidence[]): Finding[];
}

export const defineScenario = (scenario: Scenario): Scenario => scenario;
