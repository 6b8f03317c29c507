import type { Finding, TrialEvidence, Variant } from "../../src/evidence/schemas.js";
import { formatUs } from "../../src/format.js";
import type { ScenarioRender } from "../../src/scenario/define.js";
import { analyseBacklogTrial, type BacklogTrial } from "./accounting.js";
import { describeFate, loadName, s8Figures, SEED } from "./claims.js";

// How a signal-backlog trial and variant read in the terminal and in `run --json`.

/** The `measured` names of a trial in `run --json`: a contract, keep them exactly. */
export function measured(t: BacklogTrial): Record<string, number | null> {
  const a = t.accounting;
  return {
    sent: t.counts.sent,
    generated: t.kernel ? t.counts.generated : null,
    coalesced: t.kernel ? t.counts.coalesced : null,
    sigsendCalls: t.kernel ? t.counts.sigsendCalls : null,
    received: t.view === "channel" ? t.counts.received : null,
    dropped: a && a.upTo === "channel" ? a.dropped : null,
    // Beyond the contract's six: the rest of the chain.
    buffered: t.view === "channel" ? t.counts.buffered : null,
    queued: t.kernel ? t.counts.queued : null,
    kernelDeliveries: t.kernel ? t.counts.kernelDeliveries : null,
    sighandlerCalls: t.kernel ? t.counts.sighandlerCalls : null,
    processCalls: t.kernel ? t.counts.processCalls : null,
    coalescedRuntime: a ? a.coalescedRuntime : null,
    lost: a ? a.lost : t.counts.sent - t.counts.received - t.counts.buffered,
    reached: a ? a.reached : null,
    unaccounted: a ? a.unaccounted + a.notGenerated + a.otherResults : null,
    windowUs: t.windowUs,
    windowSent: t.window?.sent ?? null,
    windowIgnored: t.window?.ignored ?? null,
    windowReachedOsSignal: t.window?.reachedOsSignal ?? null,
    notifyCallUs: t.notifyCallUs,
    sendSpanUs: t.sendSpanUs,
    kernelLostEvents: t.kernelLostEvents,
  };
}

export const render: ScenarioRender = {
  trialLine(trial: TrialEvidence) {
    const t = analyseBacklogTrial(trial);
    const c = t.counts;
    const k = t.kernel ? ` gen ${c.generated} (pending ${c.coalesced}) sigsend ${c.sigsendCalls} process ${c.processCalls}` : "";
    const who = t.userTarget ? "program" : `cap ${t.cap.padStart(2)} ${t.reader.padEnd(4)}`;
    const end =
      t.view === "channel"
        ? ` → received ${c.received} buffered ${c.buffered}${t.accounting ? ` dropped ${t.accounting.dropped}` : ""}`
        : t.accounting
          ? ` → reached ${t.view === "os-signal" ? "os/signal" : "the kernel's delivery"} ${t.accounting.reached}`
          : "";
    return `${t.early ? "[sent before Notify] " : ""}${who} ${t.signal} ${loadName(t).padEnd(7)} sent ${c.sent}${k}${end}${t.accounting?.unaccounted ? ` unaccounted ${t.accounting.unaccounted}` : ""}`;
  },

  variantSummary(_variant: Variant, trials: TrialEvidence[]) {
    const rows = trials.map(analyseBacklogTrial);
    const f = s8Figures(rows);
    const out = rows.map((t) => `    ${describeFate(t)}`);
    out.push(`  seed §4.1 vs measured: window ${SEED.windowUs.min}–${SEED.windowUs.max} µs vs ${f.windowUs ? `${formatUs(f.windowUs.median)} (${formatUs(f.windowUs.min)}–${formatUs(f.windowUs.max)})` : "none (no receive)"}`);
    for (const l of f.byLoad) out.push(`    loss ${l.signal} ${l.load}: seed ${(SEED.lossRate * 100).toFixed(1)} % at 1000/s vs measured ${l.lossRate === null ? "n/a" : `${(l.lossRate * 100).toFixed(2)} %`} (${l.lost}/${l.sent})`);
    const cp = rows.find((t) => t.checkpoint?.read);
    if (cp) out.push(`  gdb checkpoint ${cp.trial}: sig.mask [${cp.checkpoint!.mask!.join(" ")}] wanted [${cp.checkpoint!.wanted!.join(" ")}] handlers.ref ${JSON.stringify(cp.checkpoint!.handlers)}`);
    return out;
  },

  trialJson(trial: TrialEvidence) {
    const t = analyseBacklogTrial(trial);
    return {
      signal: t.signal,
      load: t.load,
      count: t.counts.sent,
      cap: t.cap,
      reader: t.reader,
      measured: measured(t),
      view: t.view,
      unseen: t.unseen,
      accounting: t.accounting,
      checkpoint: t.checkpoint,
      firstSendAfterNotifyUs: t.firstSendAfterNotifyUs,
      early: t.early,
      window: t.window,
      exitCode: t.exitCode,
      loadavg: t.loadavg,
    };
  },

  runJson(_trials: TrialEvidence[], _findings: Finding[]) {
    return { seed: SEED };
  },
};
