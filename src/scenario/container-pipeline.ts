import type { Container } from "../runtime/runtime.js";

// Container start-up (~200 ms with Docker) and removal (~100 ms) are most of what a trial
// costs, and neither depends on what the trial will send. So the next trial's container is
// created and started — its gate blocked, nothing released — while the current trial waits
// for its program to end, and a finished trial's container is removed in the background.
// Both happen only outside the measured window: before a driver releases a gate, the
// pipeline is quiet (no removal running), so start-up work never competes with the
// instants a trial measures.

export class ContainerPipeline {
  #prepared: { id: string; container: Promise<Container> } | null = null;
  readonly #removals = new Set<Promise<void>>();

  constructor(private readonly startContainer: (id: string) => Promise<Container>) {}

  /** The container for trial `id`: the one prepared for it, or a new one. */
  async take(id: string): Promise<Container> {
    const prepared = this.#prepared;
    this.#prepared = null;
    if (prepared?.id === id) return prepared.container;
    if (prepared) this.#retireLater(prepared.container);
    return this.startContainer(id);
  }

  /** Starts the container of trial `id` now, for a later take(id). */
  prepare(id: string): void {
    if (this.#prepared) this.#retireLater(this.#prepared.container);
    const container = this.startContainer(id);
    // A failure shows when the trial takes it; until then it must not go unhandled.
    container.catch(() => {});
    this.#prepared = { id, container };
  }

  /** Removes a finished trial's container in the background. */
  retire(container: Container): void {
    const removal = container.remove().catch(() => {});
    this.#removals.add(removal);
    void removal.finally(() => this.#removals.delete(removal));
  }

  /** Resolves once no removal runs: call before the measured part of a trial. */
  async quiet(): Promise<void> {
    while (this.#removals.size > 0) await Promise.all(this.#removals);
  }

  /** Drops a prepared container nobody took and waits for every removal. */
  async close(): Promise<void> {
    if (this.#prepared) this.#retireLater(this.#prepared.container);
    this.#prepared = null;
    await this.quiet();
  }

  #retireLater(container: Promise<Container>): void {
    const removal = container.then((c) => c.remove()).catch(() => {});
    this.#removals.add(removal);
    void removal.finally(() => this.#removals.delete(removal));
  }
}
