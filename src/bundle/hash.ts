import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

export function sha256File(path: string): Promise<string> {
  return new Promise((resolveHash, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolveHash(hash.digest("hex")));
  });
}

// Hashing runs on the thread that calls update(): a million-record bundle (~0.5 GB) takes
// most of a second on one core. Workers hash files side by side (and beside the reader's
// own work on the main thread); below this many bytes starting them costs more than it saves.
const WORKER_THRESHOLD = 32 << 20;

// An eval'd worker needs no file of its own, so it runs the same from dist/ and under vitest.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const { createReadStream } = require("node:fs");
parentPort.on("message", ({ id, path }) => {
  const hash = createHash("sha256");
  createReadStream(path, { highWaterMark: 1 << 20 })
    .on("data", (chunk) => hash.update(chunk))
    .on("error", (err) => parentPort.postMessage({ id, error: err.code ?? err.message }))
    .on("end", () => parentPort.postMessage({ id, sha256: hash.digest("hex") }));
});`;

/** One result per file: its sha256, or why it could not be read (errno code). */
export type HashResult = { sha256: string } | { error: string };

/**
 * The sha256 of each file (with its size, to share work out), largest first over up to one
 * worker per core; on the main thread when the files are small.
 */
export async function sha256Files(files: readonly { path: string; bytes: number }[]): Promise<HashResult[]> {
  const total = files.reduce((sum, f) => sum + f.bytes, 0);
  const results: HashResult[] = new Array(files.length);
  const workers = Math.min(availableParallelism(), files.length);
  if (total < WORKER_THRESHOLD || workers < 2) {
    for (const [i, f] of files.entries()) results[i] = await sha256File(f.path).then((sha256) => ({ sha256 }), (err: NodeJS.ErrnoException) => ({ error: err.code ?? err.message }));
    return results;
  }
  const queue = files.map((f, i) => ({ ...f, i })).sort((a, b) => b.bytes - a.bytes);
  const run = (): Promise<void> =>
    new Promise((done, fail) => {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      let finished = false;
      const next = (): void => {
        const job = queue.shift();
        if (job === undefined) {
          finished = true;
          void worker.terminate().then(() => done());
          return;
        }
        worker.postMessage({ id: job.i, path: job.path });
      };
      worker.on("message", (m: { id: number; sha256?: string; error?: string }) => {
        results[m.id] = m.sha256 !== undefined ? { sha256: m.sha256 } : { error: m.error ?? "unreadable" };
        next();
      });
      worker.on("error", fail);
      // A worker that dies mid-file (out of memory) would otherwise leave its file unanswered.
      worker.on("exit", (code) => {
        if (!finished) fail(new Error(`a sha256 worker exited (code ${code}) before its files were hashed`));
      });
      next();
    });
  await Promise.all(Array.from({ length: workers }, run));
  return results;
}
