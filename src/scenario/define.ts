import type { Attachment, ObserverName } from "../capture/observer.js";
import type { Finding, TrialEvidence, TrialRequest, Variant } from "../evidence/schemas.js";
import type { ProbeFlavour } from "../probe/build.js";
import type { Container, ContainerMount, ImageFile, InitKind } from "../runtime/runtime.js";

/** A claim a scenario puts to the test (ids from docs/claims.md). */
export interface Claim {
  id: string;
  statement: string;
}

/**
 * One CLI option of a scenario, declared as data (as Vitest declares its options): `run`
 * builds the flag, its help and its validation from this, so a scenario adds an option
 * in one place.
 */
export interface ScenarioOption<T = unknown> {
  /** Commander flag syntax, e.g. "--offsets <µs,...>". */
  flag: string;
  description: string;
  /** Turns the flag's text into the value; throws an Error whose message says what was expected. */
  parse(value: string): T;
  /**
   * The runs it means something for: our probe's, or a user's program's (`--binary`,
   * `--image`); absent, both. Given for the other kind, `run` refuses it rather than
   * ignore it.
   */
  appliesTo?: "probe" | "target";
}

/**
 * A variant axis of a scenario beyond runtime, init and Go (e.g. tz, zoneinfo): every run
 * crosses the chosen values of every axis. `run` builds a `--<name> <v1,v2,…>` flag for it.
 * A value names a point on the axis; what it means for the image and environment is the
 * scenario's target(), so one line there changes one thing in the container.
 */
export interface AxisSpec {
  description: string;
  /** Every value the axis accepts, in the order runs cross them. */
  values: readonly string[];
  /** The values a run crosses when the flag is not given. */
  defaults: readonly string[];
  /**
   * Which of the user's own targets the axis applies to (e.g. a TZ value, given to any
   * program); absent: it configures our probe or its image only, and a `--binary` or
   * `--image` run neither crosses it nor accepts its flag.
   */
  targets?: readonly ("binary" | "image")[];
}

/** An axis named in camelCase (tzAt) is the kebab-case flag --tz-at; commander maps it back. */
export const axisFlag = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** One signal group the driver sends: count signals, the first atUs after the exec, then every intervalUs. */
export interface Send {
  sig: number;
  atUs: number;
  count?: number;
  intervalUs?: number;
}

/** What one variant's container holds and runs, beyond the gate and the init. */
export interface TrialTarget {
  /** The program's argv after its path (the probe's flags). */
  args: string[];
  env: Record<string, string>;
  /** Extra host files placed in the image (zoneinfo, locales, libraries…). */
  files: ImageFile[];
  /** How this variant's probe is built (cgo, build tags); default: static pure Go. */
  flavour?: ProbeFlavour;
  /**
   * Copy the shared libraries and loader the built probe needs (as `ldd` names them) into
   * the image, except those whose file name is in `omit` (a broken image, on purpose).
   */
  libraries?: { omit: string[] };
  /** Bind mounts (docker runtime only). */
  mounts?: ContainerMount[];
}

/** The common knobs of every run; a scenario's own options come through `options`. */
export interface SweepOptions {
  /** Trials per planned point (and per observer set). */
  trials: number;
  /** Every planned point runs once per observer set (comparing sets measures the observer effect). */
  observerSets: ObserverName[][];
  /** The scenario's own options, parsed by its ScenarioOption table, by option name. */
  options: Record<string, unknown>;
}

/**
 * What runs in the trials, as scenarios may read it: a user's program shows no probe
 * events, so a scenario that needs what the probe would have said learns it otherwise.
 */
export interface TargetInfo {
  kind: "probe" | "binary" | "image";
  /** The probe, the binary's host path, the image. */
  label: string;
  /** The program's path inside the container as exec'd. */
  programPath: string;
  /** Its comm (basename, 15 bytes at most). */
  programName: string;
  /** PID 1 is a shell (`sh -c …`), not the program. */
  shellForm: boolean;
  /** The environment an image gives its program (KEY=VALUE, as the engine stores it); empty for the probe and a binary. */
  env: string[];
}

export interface SweepContext<Req extends TrialRequest> {
  variant: Variant;
  target: TargetInfo;
  sweep: SweepOptions;
  runTrial(request: Req): Promise<TrialEvidence>;
}

/** A trial line and summary lines as the run prints them; a scenario renders its own. */
export interface ScenarioRender {
  trialLine(trial: TrialEvidence): string;
  /** Lines under the variant's heading in the closing summary. */
  variantSummary(variant: Variant, trials: TrialEvidence[]): string[];
  /** The scenario's fields of one trial in `run --json` (added to id, variant, observers, intent). */
  trialJson(trial: TrialEvidence): Record<string, unknown>;
  /** Lines printed once above the per-variant summary (e.g. a matrix of every variant at a glance). */
  runSummary?(trials: TrialEvidence[], findings: Finding[]): string[];
  /** Top-level fields the scenario adds to `run --json` (e.g. a matrix of its variants). */
  runJson?(trials: TrialEvidence[], findings: Finding[]): Record<string, unknown>;
}

/** What a scenario's trial hooks may use: the running container, the attached observers, the trial's log. */
export interface TrialHookContext<Req extends TrialRequest = TrialRequest> {
  variant: Variant;
  request: Req;
  target: TargetInfo;
  container: Container;
  /** Host PIDs of the gate (the program, or its init, once released) and of PID 1. */
  gatePid: number;
  pid1: number;
  /** The attachments of this trial's observer set, by observer name. */
  attachments: Partial<Record<ObserverName, Attachment>>;
  /** The trial's raw directory (extra captures go here, named by the scenario). */
  dir: string;
  /** Appends an event to runtime.jsonl (stamped now unless tNs is given): what the hook did, when. */
  note(ev: string, fields: Record<string, unknown>, tNs?: string): Promise<void>;
}

export interface Scenario<Req extends TrialRequest = TrialRequest> {
  name: string;
  /** One line for `forensics list`. */
  summary: string;
  /** What `run --help` says about this scenario: what a trial reports, how to read it. */
  help: string;
  claims: Claim[];
  /** go-probes/<probe> is the program under test. */
  probe: string;
  /** Which of the user's own targets the scenario can run instead of its probe (`--binary`, `--image`). */
  targets: ("binary" | "image")[];
  inits: InitKind[];
  defaultInits: InitKind[];
  /**
   * targetSets: the default sets for a user's program (`--binary`, `--image`), which reports
   * nothing itself, when they differ from the probe's (e.g. strace for its opens and gdb
   * for its runtime state, which cannot share ptrace in one trial).
   */
  observers: { supported: ObserverName[]; defaultSets: ObserverName[][]; targetSets?: ObserverName[][] };
  /** Variant axes of this scenario only, by name (the flag is --<name>). */
  axes: Record<string, AxisSpec>;
  /** Options of this scenario only, keyed by their name in SweepOptions.options. */
  options: Record<string, ScenarioOption>;
  /** Signal numbers the driver sends in this scenario (observers narrow what they record to these). */
  signals: number[];
  /** The image and argv of a variant. */
  target(variant: Variant): TrialTarget;
  /** What the driver sends after releasing the gate. */
  sends(request: Req): Send[];
  /** How long after the last send a still-running program counts as not having ended by it. */
  settleMs(request: Req): number;
  /** Before the driver releases the gate (observers attached): e.g. gdb breakpoints. */
  beforeRelease?(ctx: TrialHookContext<Req>): Promise<void>;
  /**
   * After the driver has sent everything, before the trial waits for the end: gdb
   * checkpoints, `docker stop -t N`, a client request to the program… A hook's failure is a
   * harness fault unless it records what happened as evidence and returns.
   */
  afterSends?(ctx: TrialHookContext<Req>): Promise<void>;
  /** Runs the trials of one variant, choosing each request from what earlier trials measured. */
  sweep(ctx: SweepContext<Req>): Promise<void>;
  render: ScenarioRender;
  /** Verdicts for one variant, computed from its trials only. */
  analyse(variant: Variant, trials: TrialEvidence[]): Finding[];
}

export const defineScenario = <Req extends TrialRequest>(scenario: Scenario<Req>): Scenario<Req> => scenario;
