import type { Finding, RecordRef, Variant, Verdict } from "../../src/evidence/schemas.js";
import { formatUs } from "../../src/format.js";
import type { Claim } from "../../src/scenario/define.js";
import { compact, spread, type Spread } from "../shared/records.js";
import type { BacklogTrial } from "./accounting.js";

// Verdicts on S3, S4, S8 for one variant (a channel capacity and a reader), from its trials'
// accounting only. The seed's figures are data here, printed beside what was measured.

export const BACKLOG_CLAIMS = {
  S3: { id: "S3", statement: "After signal.Notify, SIGTERM is always delivered to the program" },
  S4: { id: "S4", statement: "A signal queue runtime.sighandlers.sigsend, with a .len, shows a backlog of undelivered signals (seed §4.2)" },
  S8: { id: "S8", statement: "Between signal.Notify returning and the first receive there is an 8–12 µs window; at 1000 SIGTERM/s about 0.7 % are lost (seed §4.1)" },
} satisfies Record<string, Claim>;

/** The seed's table (§4.1), as printed there. */
export const SEED = { windowUs: { min: 8, max: 12 }, lossRate: 0.007, ratePerS: 1000 } as const;

export function judgeBacklogClaims(variant: Variant, all: BacklogTrial[]): Finding[] {
  // A trial whose sends began before Notify measured the start-up (sigterm-race's S1/S2/S7), not these claims.
  const trials = all.filter((t) => !t.early);
  const findings = [judgeS3(variant, trials), judgeS4(variant, trials), judgeS8(variant, trials)];
  const early = all.length - trials.length;
  if (early > 0) for (const f of findings) f.summary += ` (${early} trial${early === 1 ? "" : "s"} whose sends began before Notify left out)`;
  return findings;
}

const counted = (trials: BacklogTrial[]) => trials.filter((t) => t.accounting !== null);
const pct = (n: number, d: number) => (d === 0 ? "n/a" : `${((100 * n) / d).toFixed(2)} %`);

const STAGE: Record<BacklogTrial["view"], string> = { channel: "the channel", "os-signal": "os/signal", kernel: "the kernel's delivery" };

/** One trial's fate of its signals in words: "200 sent → 198 reached the channel; 2 coalesced in the kernel". */
export function describeFate(t: BacklogTrial): string {
  const a = t.accounting;
  const reached = a?.reached ?? t.counts.received + t.counts.buffered;
  if (!a) return `${t.counts.sent} sent → ${reached} reached the channel (no kernel records: losses not attributed)`;
  const parts = [
    a.coalescedInit && `${a.coalescedInit} coalesced at the init (PID 1) before it could forward them`,
    a.coalescedKernel && `${a.coalescedKernel} coalesced in the kernel (already pending)`,
    a.coalescedRuntime && `${a.coalescedRuntime} coalesced in the runtime's sig.mask`,
    a.dropped && `${a.dropped} dropped on a full channel`,
    a.notGenerated && `${a.notGenerated} never generated for the program (kill failed or not forwarded)`,
    a.otherResults && `${a.otherResults} ignored/overflow`,
    a.unaccounted && `${a.unaccounted} unaccounted`,
  ].filter(Boolean);
  const detail = a.upTo === "channel" ? ` (${t.counts.received} received, ${t.counts.buffered} still buffered)` : "";
  return `${t.signal} ${loadName(t)}: ${t.counts.sent} sent → ${reached} reached ${STAGE[a.upTo]}${detail}${parts.length ? `; ${parts.join(", ")}` : ""}`;
}

export const loadName = (t: { load: "burst" | number }) => (t.load === "burst" ? "burst" : `${t.load}/s`);

const fateRefs = (t: BacklogTrial): RecordRef[] =>
  compact([t.refs.driver, t.refs.firstGenerate, t.refs.firstCoalesced, t.refs.firstSigsend, t.refs.firstProcess, t.refs.counts]);

function judgeS3(variant: Variant, trials: BacklogTrial[]): Finding {
  const base = { claim: "S3", statement: BACKLOG_CLAIMS.S3.statement, variant };
  const sigterm = trials.filter((t) => t.signal === "SIGTERM" && (t.userTarget ? t.accounting !== null : t.refs.counts !== null));
  if (sigterm.length === 0) {
    const why = trials.some((t) => t.userTarget)
      ? "no trial sent SIGTERM after the program's signal.Notify (the os/signal.Notify uprobe) with the kernel observer; run with --loads SIGTERM:1000 --observe kernel"
      : "no trial sent SIGTERM to a probe that reported its counts; run with --loads SIGTERM:1000";
    return { ...base, verdict: "inconclusive", summary: why, evidence: [] };
  }
  const reached = (t: BacklogTrial) => t.accounting?.reached ?? t.counts.received + t.counts.buffered;
  const losing = sigterm.filter((t) => reached(t) < t.counts.sent);
  const sent = sigterm.reduce((n, t) => n + t.counts.sent, 0);
  const lost = sigterm.reduce((n, t) => n + (t.counts.sent - reached(t)), 0);
  const evidence = (losing.length ? losing : sigterm).flatMap(fateRefs);
  const fates = sigterm.map(describeFate).join(" | ");
  // A user's program without a runtime view: the kernel's delivery is not the program's Notify channel, and its Notify is unseen.
  const blind = sigterm.find((t) => t.view === "kernel");
  if (blind) return { ...base, verdict: "inconclusive", summary: `${blind.unseen ?? "no runtime view"}: ${fates}`, evidence, measurements: { sent, lost } };
  const upTo = sigterm.some((t) => t.view === "os-signal") ? "os/signal" : "the channel";
  if (losing.length === 0 && upTo === "os/signal") {
    return {
      ...base,
      verdict: "inconclusive",
      summary: `every one of ${sent} SIGTERM sent after Notify reached os/signal; whether its non-blocking send put each into the program's channel no record shows (our probe counts its receives): ${fates}`,
      evidence,
      measurements: { sent, lost },
    };
  }
  const verdict: Verdict = losing.length > 0 ? "refuted" : "confirmed";
  const who = variant.cap === undefined ? "the program" : `channel cap ${variant.cap}, reader ${variant.reader}`;
  const summary = `${who}: ${lost} of ${sent} SIGTERM sent after Notify did not reach ${upTo} (${pct(lost, sent)}); ${fates}`;
  return { ...base, verdict, summary, evidence, measurements: { sent, lost } };
}

function judgeS4(variant: Variant, trials: BacklogTrial[]): Finding {
  const base = { claim: "S4", statement: BACKLOG_CLAIMS.S4.statement, variant };
  const checked = trials.filter((t) => t.checkpoint !== null);
  if (checked.length === 0) return { ...base, verdict: "inconclusive", summary: "no trial ran a gdb checkpoint: run with --observe kernel+gdb", evidence: [] };
  const read = checked.filter((t) => t.checkpoint!.read);
  const seed = checked.map((t) => t.checkpoint!.seedExpression).find((s) => s !== null) ?? null;
  const symbol = checked.map((t) => t.checkpoint!.seedSymbol).find((s) => s !== null) ?? null;
  const evidence = checked.flatMap((t) => t.refs.checkpoint);
  if (read.length === 0) {
    const why = [...new Set(checked.map((t) => t.checkpoint!.problem ?? "unknown"))].join("; ");
    return { ...base, verdict: "inconclusive", summary: `gdb read no runtime state at the checkpoint: ${why}`, evidence };
  }
  // Coalescing in sig.mask (sigsend calls that os/signal did not take one by one) proves the runtime keeps one bit per signal, not a queue.
  const maskCoalesced = counted(trials).reduce((n, t) => n + t.accounting!.coalescedRuntime, 0);
  const masks = read.map((t) => `${t.trial}: mask [${t.checkpoint!.mask!.join(" ")}] recv [${t.checkpoint!.recv!.join(" ")}] wanted [${t.checkpoint!.wanted!.join(" ")}] state ${t.checkpoint!.state} handlers.ref ${JSON.stringify(t.checkpoint!.handlers)}`);
  const said = (s: typeof seed) => (s === null ? null : s.refused ? `gdb refused "${s.command}" (${s.answer})` : `gdb answered "${s.command}" with ${s.answer}`);
  const seedPart = [said(seed), said(symbol)].filter((x) => x !== null).join(", and ") || "the seed's expression was not tried";
  // The seed's queue exists only if gdb can print it under either spelling.
  const verdict: Verdict = seed?.refused === false || symbol?.refused === false ? "confirmed" : "refuted";
  const summary = `${seedPart}; the runtime's queue is 'runtime.sig', bitmasks of [3]uint32 that hold at most one pending instance per signal: ${masks.join(" | ")}; ${maskCoalesced} sigsend calls were coalesced in sig.mask across the variant's trials (kernel uprobes)`;
  return { ...base, verdict, summary, evidence: [...evidence, ...counted(trials).filter((t) => t.accounting!.coalescedRuntime > 0).flatMap((t) => compact([t.refs.firstSigsend, t.refs.firstProcess]))], measurements: { coalescedRuntime: maskCoalesced } };
}

export interface S8Figures {
  windowUs: Spread | null;
  notifyCallUs: Spread | null;
  /** Per load: signals sent, lost, and the loss split by where it went. */
  byLoad: { signal: string; load: string; sent: number; lost: number; lossRate: number | null; coalescedInit: number; coalescedKernel: number; coalescedRuntime: number; dropped: number; unaccounted: number }[];
  seed: typeof SEED;
}

export function s8Figures(trials: BacklogTrial[]): S8Figures {
  const byKey = new Map<string, BacklogTrial[]>();
  for (const t of counted(trials)) byKey.set(`${t.signal} ${loadName(t)}`, [...(byKey.get(`${t.signal} ${loadName(t)}`) ?? []), t]);
  const byLoad = [...byKey.values()].map((ts) => {
    const sum = (f: (t: BacklogTrial) => number) => ts.reduce((n, t) => n + f(t), 0);
    const sent = sum((t) => t.counts.sent);
    const lost = sum((t) => t.accounting!.lost);
    return {
      signal: ts[0]!.signal,
      load: loadName(ts[0]!),
      sent,
      lost,
      lossRate: sent ? lost / sent : null,
      coalescedKernel: sum((t) => t.accounting!.coalescedKernel),
      coalescedRuntime: sum((t) => t.accounting!.coalescedRuntime),
      dropped: sum((t) => t.accounting!.dropped),
      coalescedInit: sum((t) => t.accounting!.coalescedInit),
      unaccounted: sum((t) => t.accounting!.unaccounted + t.accounting!.notGenerated + t.accounting!.otherResults),
    };
  });
  return {
    windowUs: spread(trials.map((t) => t.windowUs).filter((v): v is number => v !== null)),
    notifyCallUs: spread(trials.map((t) => t.notifyCallUs).filter((v): v is number => v !== null)),
    byLoad,
    seed: SEED,
  };
}

/**
 * The seed's mechanism is a window after Notify in which signals vanish. Measured: how long
 * Notify-return → first receive takes, and whether any signal at the seed's rate or above
 * was lost *without* a recorded cause (unaccounted, i.e. between the kernel and the runtime).
 * Losses that the kernel or os/signal recorded (coalescing, a full channel) are a different
 * mechanism: they refute the window, not the loss.
 */
function judgeS8(variant: Variant, trials: BacklogTrial[]): Finding {
  const base = { claim: "S8", statement: BACKLOG_CLAIMS.S8.statement, variant };
  const f = s8Figures(trials);
  const atRate = f.byLoad.filter((l) => l.load !== "burst" && Number.parseInt(l.load) >= SEED.ratePerS);
  const windowText = f.windowUs ? `Notify → first receive ${formatUs(f.windowUs.median)} (${formatUs(f.windowUs.min)}–${formatUs(f.windowUs.max)}, ${f.windowUs.n} trials) vs the seed's 8–12 µs` : variant.reader === undefined ? "no first receive measured (a user's program reports none)" : `no first receive measured (reader ${variant.reader})`;
  const lossText = f.byLoad.map((l) => `${l.signal} ${l.load}: ${l.lost}/${l.sent} lost (${l.lossRate === null ? "n/a" : pct(l.lost, l.sent)} vs the seed's 0.70 % at 1000/s; kernel-coalesced ${l.coalescedKernel}, mask-coalesced ${l.coalescedRuntime}, dropped ${l.dropped}, unaccounted ${l.unaccounted})`).join("; ");
  const evidence = counted(trials).flatMap((t) => compact([t.refs.notify, t.refs.receiving, ...fateRefs(t)]));
  const measurements = {
    windowUsMedian: f.windowUs?.median ?? null,
    windowUsMin: f.windowUs?.min ?? null,
    windowUsMax: f.windowUs?.max ?? null,
    seedWindowUsMin: SEED.windowUs.min,
    seedWindowUsMax: SEED.windowUs.max,
    seedLossRate: SEED.lossRate,
  };
  // Signals sent inside the window itself: did the kernel drop them (no handler, the seed's mechanism) or did os/signal take them?
  const inWindow = counted(trials).filter((t) => t.window !== null);
  const w = inWindow.reduce((a, t) => ({ sent: a.sent + t.window!.sent, ignored: a.ignored + t.window!.ignored, coalesced: a.coalesced + t.window!.coalesced, reached: a.reached + t.window!.reachedOsSignal }), { sent: 0, ignored: 0, coalesced: 0, reached: 0 });
  const windowSends = inWindow.length ? `; inside the window ${w.sent} signals were sent: the kernel ignored ${w.ignored}, coalesced ${w.coalesced}, os/signal took ${w.reached} before the first receive` : "";
  const measured8 = { ...measurements, windowSent: inWindow.length ? w.sent : null, windowIgnored: inWindow.length ? w.ignored : null, windowReachedOsSignal: inWindow.length ? w.reached : null };
  const followed = counted(trials).filter((t) => t.view !== "kernel");
  if (counted(trials).length > 0 && followed.length === 0) {
    const why = trials.find((t) => t.unseen !== null)?.unseen ?? "no runtime view";
    return { ...base, verdict: "inconclusive", summary: `${why}: no Notify or receive to time a window from; ${lossText}`, evidence, measurements: measured8, details: { s8: f } };
  }
  if (w.ignored > 0) return { ...base, verdict: "confirmed", summary: `the kernel dropped ${w.ignored} signals sent between Notify and the first receive${windowSends}; ${windowText}`, evidence, measurements: measured8, details: { s8: f } };
  if (atRate.length === 0) return { ...base, verdict: "inconclusive", summary: `${windowText}${windowSends}; no trial at ${SEED.ratePerS}/s or above with kernel records (--loads SIGTERM:1000)`, evidence, measurements: measured8, details: { s8: f } };
  const unaccounted = atRate.reduce((n, l) => n + l.unaccounted, 0);
  const verdict: Verdict = unaccounted > 0 ? "inconclusive" : "refuted";
  const lead = unaccounted > 0 ? `${unaccounted} signals at ${SEED.ratePerS}/s or above were lost without a recorded cause` : `every signal lost at ${SEED.ratePerS}/s or above has a recorded cause (none vanished in a window after Notify)`;
  const tail = followed.some((t) => t.view === "os-signal") ? " (a user's program: followed as far as os/signal; its receives are not seen)" : "";
  return { ...base, verdict, summary: `${lead}${tail}; ${windowText}${windowSends}; ${lossText}`, evidence, measurements: measured8, details: { s8: f } };
}
