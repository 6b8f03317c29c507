import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar";
import { Manifest } from "../bundle/manifest.js";
import { readBundle } from "../bundle/read.js";
import { HarnessError, isHarnessError } from "../errors.js";
import { loadRawTrials } from "../evidence/load.js";
import type { ReplayData } from "./session.js";

export interface OpenedReplay extends ReplayData {
  close(): Promise<void>;
}

/**
 * Opens what the user named for replay: a bundle directory or its .tar.gz. A bundle that
 * fails verification opens nothing (BAD_BUNDLE, one line). A partial bundle (a run cut
 * short) whose evidence was never written is rebuilt from its raw captures, and says so.
 */
export async function openReplay(target: string): Promise<OpenedReplay> {
  const st = await stat(target).catch(() => null);
  if (st === null) throw new HarnessError("BAD_INPUT", `${target}: no such bundle directory or archive`);
  if (st.isDirectory()) return { ...(await openDir(target, target)), close: async () => {} };
  if (!st.isFile()) throw new HarnessError("BAD_INPUT", `${target}: neither a bundle directory nor an archive file`);
  const tmp = await mkdtemp(join(tmpdir(), "forensics-replay-"));
  const close = () => rm(tmp, { recursive: true, force: true });
  try {
    await extract(target, tmp);
    const entries = await readdir(tmp);
    const root = entries.length === 1 && (await stat(join(tmp, entries[0]!))).isDirectory() ? join(tmp, entries[0]!) : tmp;
    return { ...(await openDir(root, target)), close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function openDir(dir: string, source: string): Promise<ReplayData> {
  try {
    const b = await readBundle(dir);
    return { source, dir, manifest: b.manifest, partial: b.manifest.status === "partial" ? (b.manifest.reason ?? "the run stopped early") : null, trials: b.evidence.trials, findings: b.findings.findings };
  } catch (err) {
    // Only a partial bundle's missing evidence is recoverable: every listed file has already passed its hash.
    if (!isHarnessError(err) || !/is not listed in the manifest \(partial bundle/.test(err.message)) throw err;
    const manifest = Manifest.parse(JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")));
    const trials = await loadRawTrials(dir).catch((e: Error) => {
      throw new HarnessError("BAD_BUNDLE", `${source}: partial bundle, and its raw captures cannot be read either: ${e.message}`);
    });
    return { source, dir, manifest, partial: `${manifest.reason ?? "the run stopped early"}; evidence rebuilt from raw/, no findings`, trials, findings: [] };
  }
}

/** A .tar.gz, refusing what could escape the directory: absolute paths, `..`, links, devices. */
async function extract(file: string, into: string): Promise<void> {
  const refusals: string[] = [];
  try {
    await tar.x({
      file,
      cwd: into,
      strict: true,
      filter: (path, entry) => {
        const type = (entry as { type?: string }).type;
        const bad = path.startsWith("/") || path.split("/").includes("..") || (type !== undefined && type !== "File" && type !== "Directory");
        if (bad) refusals.push(path);
        return !bad;
      },
    });
  } catch (err) {
    throw new HarnessError("BAD_BUNDLE", `${file}: not a readable .tar.gz bundle (${(err as Error).message})`);
  }
  if (refusals.length) throw new HarnessError("BAD_BUNDLE", `${file}: refusing archive members that escape the bundle or are not regular files: ${refusals.slice(0, 3).join(", ")}`);
}
