import { observerSetKey, type ObserverName } from "../capture/observer.js";
import type { Manifest } from "../bundle/manifest.js";
import type { BundleTrial } from "../bundle/bundle-trial.js";
import { SOURCES, type AnyRecord } from "../evidence/facets.js";
import { sameVariant, variantKey, type Finding, type RecordRef, type RecordSource } from "../evidence/schemas.js";
import { causalChain, causalEvents, threadGroups, type CausalEvent, type Hop } from "./causality.js";
import { compileSearch, formatFilter, isFiltering, NO_FILTER, parseFilter, seek, visibleRows, type Filter } from "./filter.js";
import { FLAG, indexTrial, rowAtTime, type TrialIndex } from "./trial-index.js";

// The replay's state and what each key does to it. No terminal here: the view model
// renders a session, the blessed app feeds it keys and timer ticks, tests drive it directly.

export interface ReplayData {
  /** What the user named (a directory or an archive). */
  source: string;
  dir: string;
  manifest: Manifest;
  /** Why the bundle is partial, or null when it is complete. */
  partial: string | null;
  trials: BundleTrial[];
  findings: Finding[];
}

export type Focus = "timeline" | "findings" | "detail";
export type PromptKind = "search" | "filter" | "goto";

export interface Jump {
  trial: number;
  row: number;
}

export type Effect = { kind: "quit" } | { kind: "copy"; what: string; markdown: string } | { kind: "none" };

export const SPEEDS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

export class ReplaySession {
  readonly data: ReplayData;
  /** Trials in variant order, then id. */
  readonly order: number[];
  readonly variantKeys: string[];
  trialPos = 0;
  /** The timeline row under the cursor (not its position among visible rows). */
  cursorRow = 0;
  /** Position (among visible rows) of the first row drawn. */
  top = 0;
  focus: Focus = "timeline";
  filter: Filter = NO_FILTER;
  search: { pattern: string; re: RegExp; asFilter: boolean; hits: number } | null = null;
  /** An open prompt; a search prompt opened with & filters (`asFilter`). */
  prompt: { kind: PromptKind; text: string; asFilter?: boolean } | null = null;
  help = false;
  message = "";
  /** Marked rows per trial id. */
  marks = new Map<string, Set<number>>();
  /** The mark times are shown from: the last one set or jumped to. */
  anchor = new Map<string, number>();
  back: Jump[] = [];
  forward: Jump[] = [];
  findingPos = 0;
  detailScroll = 0;
  compare: number | null = null;
  playing = false;
  speedPos = SPEEDS.indexOf(1);
  /** Playback clock, µs from the exec. */
  playheadUs = 0;
  /** Timeline rows visible in the timeline pane (set by the layout). */
  pageRows = 10;

  #indexes = new Map<number, TrialIndex>();
  #visible: { key: string; rows: Int32Array } | null = null;
  #causal = new Map<number, { events: CausalEvent[]; groups: Map<number, number> }>();

  constructor(data: ReplayData) {
    this.data = data;
    const keyed = data.trials.map((t, i) => ({ i, key: variantKey(t.variant), id: t.id }));
    this.variantKeys = [...new Set(data.manifest.variants.map(variantKey).concat(keyed.map((k) => k.key)))];
    this.order = keyed.sort((a, b) => this.variantKeys.indexOf(a.key) - this.variantKeys.indexOf(b.key) || a.id.localeCompare(b.id)).map((k) => k.i);
    this.#enterTrial(0);
  }

  get trial(): BundleTrial {
    return this.data.trials[this.order[this.trialPos]!]!;
  }

  indexOf(pos: number): TrialIndex {
    let ix = this.#indexes.get(pos);
    if (!ix) {
      ix = indexTrial(this.data.trials[this.order[pos]!]!, this.data.findings);
      this.#indexes.set(pos, ix);
    }
    return ix;
  }

  get index(): TrialIndex {
    return this.indexOf(this.trialPos);
  }

  /** Rows that pass the filter (and the search, when it filters). */
  get visible(): Int32Array {
    const re = this.search?.asFilter ? this.search.re : null;
    const key = `${this.trialPos}|${formatFilter(this.filter)}|${re?.source ?? ""}`;
    if (this.#visible?.key !== key) this.#visible = { key, rows: visibleRows(this.index, this.filter, re) };
    return this.#visible.rows;
  }

  get hidden(): number {
    return this.index.n - this.visible.length;
  }

  /** Position of the cursor among visible rows (the nearest visible row at or after it). */
  get cursorPos(): number {
    return positionOf(this.visible, this.cursorRow);
  }

  get variantFindings(): Finding[] {
    return this.data.findings.filter((f) => sameVariant(f.variant, this.trial.variant));
  }

  get observerSet(): string {
    return observerSetKey(this.trial.request.observers as ObserverName[]);
  }

  record(row: number, ix: TrialIndex = this.index): AnyRecord | undefined {
    return ix.trial.record(sourceName(ix, row), ix.record[row]!);
  }

  get trialMarks(): Set<number> {
    let m = this.marks.get(this.trial.id);
    if (!m) this.marks.set(this.trial.id, (m = new Set()));
    return m;
  }

  /** The chain being followed with l/h: it stays the one shown while the cursor is on one of its hops. */
  #activeChain: { trialPos: number; hops: Hop[] } | null = null;
  /** Which hop of the active chain the cursor is on (one record can be two hops: a call and its resume). */
  #hopIndex: number | null = null;

  /** The chain through the cursor's record (empty when it is part of none). */
  chain(row = this.cursorRow): Hop[] {
    const ix = this.index;
    const active = this.#activeChain;
    if (active && active.trialPos === this.trialPos && active.hops.some((h) => ix.rowOf(h.source, h.index) === row || (h.stage === "resumed" && rowAtTime(ix, h.atUs) === row))) return active.hops;
    return this.#chainFrom(row);
  }

  #chainFrom(row: number): Hop[] {
    const ix = this.index;
    if (row >= ix.n) return [];
    const r = this.record(row);
    // Only signals, exits, resumed calls and clones are in chains: skip the scan for the rest.
    const flags = ix.flags[row]!;
    if (!r || (!(flags & (FLAG.signal | FLAG.exit)) && !(r.kind === "syscall" && (r.resumed === true || /^(clone3?|fork|vfork|rt_sigtimedwait)$/.test(String(r.syscall)))) && r.kind !== "fork")) return [];
    let c = this.#causal.get(this.trialPos);
    if (!c) this.#causal.set(this.trialPos, (c = { events: causalEvents(ix), groups: threadGroups(ix) }));
    return causalChain(ix, sourceName(ix, row), ix.record[row]!, c.events, c.groups);
  }

  // ---- movement -------------------------------------------------------------------

  /** Moves the cursor to visible position p, scrolling so it stays on screen. */
  moveTo(p: number): void {
    const vis = this.visible;
    if (vis.length === 0) return;
    const q = Math.max(0, Math.min(vis.length - 1, p));
    this.cursorRow = vis[q]!;
    if (q < this.top) this.top = q;
    if (q >= this.top + this.pageRows) this.top = q - this.pageRows + 1;
    this.top = Math.max(0, Math.min(this.top, Math.max(0, vis.length - this.pageRows)));
    this.detailScroll = 0;
  }

  /** A jump the back stack remembers; a row hidden by the filter clears the filter first. */
  jumpTo(row: number, trialPos = this.trialPos, why = ""): void {
    this.back.push({ trial: this.trialPos, row: this.cursorRow });
    if (this.back.length > 200) this.back.shift();
    this.forward = [];
    this.#go(trialPos, row);
    if (why) this.message = why;
  }

  #go(trialPos: number, row: number): void {
    if (trialPos !== this.trialPos) this.#enterTrial(trialPos, false);
    const vis = this.visible;
    const p = positionOf(vis, row);
    if (vis[p] !== row && isFiltering(this.filter, this.search?.asFilter ? this.search.re : null)) {
      this.filter = NO_FILTER;
      if (this.search) this.search.asFilter = false;
      this.message = "filter cleared to show the target";
    }
    const q = positionOf(this.visible, row);
    // Centre the target, as lnav does on a jump.
    this.top = Math.max(0, q - Math.floor(this.pageRows / 2));
    this.moveTo(q);
  }

  #enterTrial(pos: number, resetCursor = true): void {
    this.trialPos = Math.max(0, Math.min(this.order.length - 1, pos));
    this.#visible = null;
    if (resetCursor) {
      // Open at the exec: the first row at or after the origin.
      const ix = this.index;
      this.cursorRow = ix.n === 0 ? 0 : rowAtTime(ix, 0);
      this.top = Math.max(0, positionOf(this.visible, this.cursorRow) - 2);
      this.moveTo(positionOf(this.visible, this.cursorRow));
    }
    this.playheadUs = this.index.atUs[this.cursorRow] ?? 0;
    this.findingPos = 0;
    if (this.compare !== null) this.compare = this.counterpart();
  }

  /** The trial to compare with: same variant, another observer set (and the same intent when there is one). */
  counterpart(): number | null {
    const here = this.trial;
    const set = this.observerSet;
    const candidates = this.order
      .map((i, pos) => ({ t: this.data.trials[i]!, pos }))
      .filter(({ t, pos }) => pos !== this.trialPos && sameVariant(t.variant, here.variant));
    const other = (c: { t: BundleTrial }) => observerSetKey(c.t.request.observers as ObserverName[]) !== set;
    const best = candidates.find((c) => other(c) && c.t.request.intent === here.request.intent) ?? candidates.find(other) ?? candidates[0];
    return best ? best.pos : null;
  }

  switchTrial(delta: number): void {
    const pos = this.trialPos + delta;
    if (pos < 0 || pos >= this.order.length) {
      this.message = delta < 0 ? "first trial" : "last trial";
      return;
    }
    this.#enterTrial(pos);
  }

  switchVariant(delta: number): void {
    const key = variantKey(this.trial.variant);
    const vi = this.variantKeys.indexOf(key) + delta;
    if (vi < 0 || vi >= this.variantKeys.length) {
      this.message = delta < 0 ? "first variant" : "last variant";
      return;
    }
    const pos = this.order.findIndex((i) => variantKey(this.data.trials[i]!.variant) === this.variantKeys[vi]);
    if (pos >= 0) this.#enterTrial(pos);
  }

  /** Next/previous visible row with a flag (failure, signal, cited) or a search hit. */
  seekFlag(flag: number, forward: boolean, what: string): void {
    const ix = this.index;
    const p = seek(this.visible, this.cursorPos, forward, (row) => (ix.flags[row]! & flag) !== 0);
    if (p < 0) this.message = `no ${what}`;
    else this.jumpTo(this.visible[p]!, this.trialPos, `${what} ${forward ? "↓" : "↑"}`);
  }

  seekSearch(forward: boolean): void {
    if (!this.search) {
      this.message = "no search: press / first";
      return;
    }
    const { re } = this.search;
    const ix = this.index;
    const p = seek(this.visible, this.cursorPos, forward, (row) => re.test(ix.text(row)));
    if (p < 0) this.message = `pattern not found: ${this.search.pattern}`;
    else this.jumpTo(this.visible[p]!, this.trialPos, `/${this.search.pattern}`);
  }

  setSearch(pattern: string, asFilter: boolean): void {
    if (pattern === "") {
      this.search = null;
      return;
    }
    const re = compileSearch(pattern);
    if ("error" in re) {
      this.message = `bad pattern: ${re.error}`;
      return;
    }
    const ix = this.index;
    let hits = 0;
    for (let i = 0; i < ix.n; i++) if (re.test(ix.text(i))) hits++;
    this.search = { pattern, re, asFilter, hits };
    if (hits === 0) {
      this.message = `pattern not found: ${pattern}`;
      return;
    }
    if (!re.test(ix.text(this.cursorRow))) this.seekSearch(true);
    else this.moveTo(this.cursorPos);
  }

  applyFilter(text: string): void {
    const parsed = parseFilter(text);
    if ("error" in parsed) {
      this.message = parsed.error;
      return;
    }
    this.filter = parsed.filter;
    this.moveTo(this.cursorPos);
    if (this.visible.length === 0) this.message = "the filter hides every row (x clears it)";
  }

  toggleFailedOnly(): void {
    this.filter = { ...this.filter, failedOnly: !this.filter.failedOnly };
    this.moveTo(this.cursorPos);
  }

  /** Filter to the pid/tid under the cursor, or drop the pid filter. */
  togglePidFilter(): void {
    const pid = this.index.pid[this.cursorRow]!;
    if (this.filter.pids) this.filter = { ...this.filter, pids: null };
    else if (pid < 0) {
      this.message = "this record names no pid";
      return;
    } else this.filter = { ...this.filter, pids: [pid] };
    this.moveTo(this.cursorPos);
  }

  /** Records a user types: `#123` or `123` a timeline row; `+1.5ms`, `-20us`, `2s` a time from the exec. */
  goTo(text: string): void {
    const t = text.trim();
    const num = /^#?(\d+)$/.exec(t);
    if (num) {
      const row = Number(num[1]);
      if (row >= this.index.n) this.message = `no record #${row} (the trial has ${this.index.n})`;
      else this.jumpTo(row, this.trialPos, `#${row}`);
      return;
    }
    const time = /^([+-]?\d+(?:\.\d+)?)\s*(us|µs|ms|s)$/.exec(t);
    if (!time) {
      this.message = `go to what? "#123" (a record) or "+1.5ms" (a time from the exec)`;
      return;
    }
    const us = Number(time[1]) * (time[2] === "s" ? 1e6 : time[2] === "ms" ? 1e3 : 1);
    this.jumpTo(rowAtTime(this.index, us), this.trialPos, `@${t}`);
  }

  goBack(): void {
    const j = this.back.pop();
    if (!j) {
      this.message = "back stack empty";
      return;
    }
    this.forward.push({ trial: this.trialPos, row: this.cursorRow });
    this.#go(j.trial, j.row);
  }

  goForward(): void {
    const j = this.forward.pop();
    if (!j) {
      this.message = "forward stack empty";
      return;
    }
    this.back.push({ trial: this.trialPos, row: this.cursorRow });
    this.#go(j.trial, j.row);
  }

  toggleMark(): void {
    const m = this.trialMarks;
    if (m.has(this.cursorRow)) {
      m.delete(this.cursorRow);
      if (this.anchor.get(this.trial.id) === this.cursorRow) this.anchor.delete(this.trial.id);
    } else {
      m.add(this.cursorRow);
      this.anchor.set(this.trial.id, this.cursorRow);
    }
  }

  seekMark(forward: boolean): void {
    const marks = [...this.trialMarks].sort((a, b) => a - b);
    const target = forward ? marks.find((r) => r > this.cursorRow) : marks.reverse().find((r) => r < this.cursorRow);
    if (target === undefined) this.message = "no more marks";
    else {
      this.jumpTo(target, this.trialPos, "mark");
      this.anchor.set(this.trial.id, target);
    }
  }

  /** The mark times are measured from, if any. */
  get anchorRow(): number | null {
    return this.anchor.get(this.trial.id) ?? null;
  }

  /** Follows the cursor's causal chain one hop forward (or back). */
  followChain(forward: boolean): void {
    const chain = this.chain();
    if (chain.length === 0) {
      this.message = "no causal chain through this record";
      return;
    }
    this.#activeChain = { trialPos: this.trialPos, hops: chain };
    const ix = this.index;
    const rowOfHop = (h: Hop, i: number) => (h.stage === "resumed" && i > 0 ? rowAtTime(ix, h.atUs) : ix.rowOf(h.source, h.index));
    const atHop = this.#hopIndex ?? -1;
    const here = atHop >= 0 && rowOfHop(chain[atHop]!, atHop) === this.cursorRow ? atHop : chain.findIndex((h, i) => rowOfHop(h, i) === this.cursorRow);
    const next = chain[here + (forward ? 1 : -1)];
    if (here < 0 || !next) {
      this.message = forward ? "end of the chain" : "start of the chain";
      return;
    }
    // A resume lives inside its call's record: go to where the timeline was at that instant.
    const nextAt = here + (forward ? 1 : -1);
    const row = rowOfHop(next, nextAt);
    if (row < 0) {
      this.message = "that hop has no timeline row";
      return;
    }
    this.#hopIndex = nextAt;
    this.jumpTo(row, this.trialPos, `${next.stage}${next.latencyUs !== null ? ` +${next.latencyUs}µs` : ""}: ${next.label}`);
  }

  /** Enter on a finding: its first record (in this trial when it cites one here, else its first trial). */
  jumpToFinding(): void {
    const f = this.variantFindings[this.findingPos];
    if (!f) return;
    const ref: RecordRef | undefined = f.evidence.find((e) => e.trial === this.trial.id) ?? f.evidence[0];
    if (!ref) {
      this.message = `${f.claim} cites no record`;
      return;
    }
    const pos = this.order.findIndex((i) => this.data.trials[i]!.id === ref.trial);
    if (pos < 0) {
      this.message = `${f.claim} cites trial ${ref.trial}, which this bundle lacks`;
      return;
    }
    const ix = this.indexOf(pos);
    const row = ix.rowOf(ref.source, ref.index);
    if (row < 0) {
      this.message = `${ref.source}#${ref.index} has no time, so no timeline row`;
      return;
    }
    this.jumpTo(row, pos, `${f.claim}: ${ref.source}#${ref.index}`);
    this.focus = "timeline";
  }

  /** The interval a finding covers in this trial: its first to last cited record here. */
  findingInterval(f: Finding | undefined = this.variantFindings[this.findingPos]): { fromUs: number; toUs: number; claim: string } | null {
    if (!f) return null;
    const ix = this.index;
    const times = f.evidence.filter((e) => e.trial === this.trial.id).map((e) => ix.rowOf(e.source, e.index)).filter((r) => r >= 0).map((r) => ix.atUs[r]!);
    if (times.length === 0) return null;
    return { fromUs: Math.min(...times), toUs: Math.max(...times), claim: f.claim };
  }

  // ---- playback --------------------------------------------------------------------

  get speed(): number {
    return SPEEDS[this.speedPos]!;
  }

  togglePlay(): void {
    this.playing = !this.playing;
    if (this.playing) {
      this.playheadUs = this.index.atUs[this.cursorRow] ?? 0;
      if (this.cursorPos >= this.visible.length - 1) this.message = "at the end: g goes to the start";
    }
  }

  /** Advances the playback clock by wallMs of real time; the cursor follows the last row at or before it. */
  tick(wallMs: number): void {
    if (!this.playing) return;
    this.playheadUs += wallMs * 1000 * this.speed;
    const vis = this.visible;
    const ix = this.index;
    let p = this.cursorPos;
    while (p + 1 < vis.length && ix.atUs[vis[p + 1]!]! <= this.playheadUs) p++;
    if (p !== this.cursorPos) this.moveTo(p);
    if (p >= vis.length - 1) {
      this.playing = false;
      this.message = "end of the trial";
    }
  }

  step(delta: number): void {
    this.playing = false;
    this.moveTo(this.cursorPos + delta);
    this.playheadUs = this.index.atUs[this.cursorRow] ?? 0;
  }

  /** Playback: the wall-clock ms until the next row is due (for a timer that sleeps through gaps). */
  get nextDueMs(): number | null {
    const vis = this.visible;
    const p = this.cursorPos;
    if (!this.playing || p + 1 >= vis.length) return null;
    return Math.max(0, (this.index.atUs[vis[p + 1]!]! - this.playheadUs) / 1000 / this.speed);
  }
}

export const sourceName = (ix: TrialIndex, row: number): RecordSource => SOURCES[ix.source[row]!]!;

/** Binary search: the position of `row` in the sorted `visible`, or of the next visible row after it. */
export function positionOf(visible: Int32Array, row: number): number {
  let lo = 0;
  let hi = visible.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (visible[mid]! < row) lo = mid + 1;
    else hi = mid;
  }
  return Math.min(lo, Math.max(0, visible.length - 1));
}
