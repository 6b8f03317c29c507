import { randomBytes } from "node:crypto";
import { appendFile, mkdir, readdir, rename, rm, stat, truncate, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { HarnessError, toOutputFault } from "../errors.js";
import { SCHEMA_VERSION, variantKey, type Finding, type TrialEvidence, type Variant } from "../evidence/schemas.js";
import { TOOL_VERSION } from "../version.js";
import { EvidenceFile, FindingsFile } from "./evidence-file.js";
import { sha256Files } from "./hash.js";
import { EVIDENCE, FINDINGS, MANIFEST, Manifest, type HostFacts } from "./manifest.js";
import { writeTrialFiles } from "./trial-files.js";

interface BundleHeader {
  runId: string;
  scenario: string;
  params: Record<string, unknown>;
  variants: Variant[];
  startedAt: string;
}

/**
 * A bundle being written. Its manifest says `partial` from the first moment and only
 * `complete` once evidence and findings are in and every file is hashed, so a bundle cut
 * short by Ctrl-C or a crash can never pass for a finished one.
 */
export class BundleWriter {
  private constructor(
    readonly dir: string,
    private readonly header: BundleHeader,
  ) {}

  static async create(root: string, scenario: string, params: Record<string, unknown>, variants: Variant[]): Promise<BundleWriter> {
    const started = new Date();
    const stamp = started.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
    const runId = `${scenario}-${stamp}-${randomBytes(3).toString("hex")}`;
    const dir = resolve(root, runId);
    await makeDirs(join(dir, "raw"));
    const writer = new BundleWriter(dir, { runId, scenario, params, variants, startedAt: started.toISOString() });
    await writer.writeManifest({ status: "partial", reason: "the run is still in progress (or was killed)" });
    return writer;
  }

  get runId(): string {
    return this.header.runId;
  }

  async trialDir(variant: Variant, trialId: string): Promise<string> {
    const dir = join(this.dir, "raw", variantKey(variant), trialId);
    await mkdir(dir, { recursive: true }).catch(rethrowAsOutputFault(dir));
    return dir;
  }

  /**
   * Writes a raw capture. A full or read-only disk is an OUTPUT_FAILED naming the file, and
   * leaves no half file behind for the manifest to hash as if it were a capture.
   */
  async writeRaw(path: string, data: string): Promise<void> {
    await writeFile(path, data).catch(async (err: unknown) => {
      await rm(path, { force: true });
      rethrowAsOutputFault(path)(err);
    });
  }

  /** Appends to a raw capture (runtime.jsonl grows one event at a time); a failed append is undone. */
  async appendRaw(path: string, data: string): Promise<void> {
    const before = await stat(path).then(
      (s) => s.size,
      () => null,
    );
    await appendFile(path, data).catch(async (err: unknown) => {
      if (before === null) await rm(path, { force: true });
      else await truncate(path, before).catch(() => {});
      rethrowAsOutputFault(path)(err);
    });
  }

  relative(path: string): string {
    return relative(this.dir, path);
  }

  #finishing: Promise<void> | null = null;

  /**
   * Writes each trial's records and timeline (evidence/…, validated record by record), then
   * evidence.json (the trials' headers) and findings, then the manifest with every file's hash.
   * The first call wins: an interrupt's cleanup and the run's own error path may both
   * finish the bundle, and two writers of one manifest could interleave.
   */
  finish(result: { trials: TrialEvidence[]; findings: Finding[]; host?: HostFacts; reason?: string }): Promise<void> {
    this.#finishing ??= this.#finish(result);
    return this.#finishing;
  }

  async #finish(result: { trials: TrialEvidence[]; findings: Finding[]; host?: HostFacts; reason?: string }): Promise<void> {
    try {
      const entries = [];
      for (const trial of result.trials) entries.push(await writeTrialFiles(this.dir, trial, { mkdir: makeDirs, fault: rethrowAsOutputFault }));
      await this.writeJson(EVIDENCE, EvidenceFile.parse({ schemaVersion: SCHEMA_VERSION, trials: entries }));
      await this.writeJson(FINDINGS, FindingsFile.parse({ schemaVersion: SCHEMA_VERSION, findings: result.findings }));
    } catch (err) {
      const fault = toOutputFault(err, { fix: OUTPUT_FIX });
      if (fault === null) throw err;
      // The manifest still tells why the bundle stopped: the run's own reason (the disk
      // may have filled up because of it) and then what could not be written.
      const reason = result.reason === undefined ? fault.message : `${result.reason}; then ${fault.message}`;
      await this.writeManifest({ status: "partial", reason, host: result.host });
      throw fault;
    }
    await this.writeManifest(
      result.reason === undefined ? { status: "complete", host: result.host } : { status: "partial", reason: result.reason, host: result.host },
    );
  }

  private async writeManifest(state: Pick<Manifest, "status" | "reason" | "host">): Promise<void> {
    const manifest = Manifest.parse({
      schemaVersion: SCHEMA_VERSION,
      tool: { name: "forensics", version: TOOL_VERSION },
      ...this.header,
      ...state,
      finishedAt: state.status === "complete" || state.reason !== undefined ? new Date().toISOString() : undefined,
      files: await hashFiles(this.dir),
    });
    try {
      await this.writeJson(MANIFEST, manifest);
    } catch (err) {
      const errno = (err as { cause?: NodeJS.ErrnoException }).cause?.code;
      if (errno !== "ENOSPC" && errno !== "EDQUOT") throw err;
      // A full disk has no room for a second copy, but opening the manifest for writing
      // truncates it and frees its blocks first: rewritten in place, the (partial) manifest
      // still says why. A crash inside this one write is the only way to tear it.
      await writeFile(join(this.dir, MANIFEST), serialize(manifest)).catch(rethrowAsOutputFault(join(this.dir, MANIFEST)));
    }
  }

  private async writeJson(name: string, value: unknown): Promise<void> {
    // Write-then-rename: a reader never sees half a JSON file, and a failed write leaves
    // neither the temp file nor a torn one.
    const tmp = join(this.dir, `.${name}.tmp`);
    try {
      await writeFile(tmp, serialize(value));
      await rename(tmp, join(this.dir, name));
    } catch (err) {
      await rm(tmp, { force: true });
      throw toOutputFault(err, { path: join(this.dir, name), fix: OUTPUT_FIX }) ?? err;
    }
  }
}

const serialize = (value: unknown): string => `${JSON.stringify(value, null, 1)}\n`;

const OUTPUT_FIX = "free some space or choose another --out";

const rethrowAsOutputFault =
  (path: string) =>
  (err: unknown): never => {
    throw toOutputFault(err, { path, fix: OUTPUT_FIX }) ?? err;
  };

/**
 * mkdir -p that reports the real cause. Node's recursive mkdir loops forever where the
 * kernel answers ENOENT for an existing parent (/proc/x: procfs has no mkdir) and reports
 * a read-only mount as ENOENT; here each missing directory is made on its own.
 */
async function makeDirs(path: string): Promise<void> {
  const missing: string[] = [];
  let at = resolve(path);
  for (;;) {
    const found = await stat(at).catch((err: NodeJS.ErrnoException) => {
      // ENOTDIR: a component above is a file; the walk up finds and names it.
      if (err.code === "ENOENT" || err.code === "ENOTDIR") return null;
      throw toOutputFault(err, { path: at, fix: OUTPUT_FIX }) ?? err;
    });
    if (found?.isDirectory()) break;
    if (found) throw new HarnessError("OUTPUT_FAILED", `cannot create ${path}: ${at} is not a directory (ENOTDIR): choose another --out`);
    missing.unshift(at);
    if (dirname(at) === at) break;
    at = dirname(at);
  }
  for (const dir of missing) {
    await mkdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "EEXIST") return;
      if (err.code === "ENOENT") {
        throw new HarnessError("OUTPUT_FAILED", `cannot create ${dir}: the file system of ${dirname(dir)} does not allow new directories (ENOENT): choose another --out`);
      }
      throw toOutputFault(err, { path: dir, fix: "choose another --out" }) ?? err;
    });
  }
}

async function hashFiles(dir: string): Promise<Manifest["files"]> {
  const found: { path: string; bytes: number }[] = [];
  const walk = async (sub: string): Promise<void> => {
    for (const entry of await readdir(join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(rel);
      else if (entry.isFile() && rel !== MANIFEST && !entry.name.startsWith(".")) found.push({ path: rel, bytes: (await stat(join(dir, rel))).size });
    }
  };
  await walk("");
  const hashes = await sha256Files(found.map((f) => ({ path: join(dir, f.path), bytes: f.bytes })));
  const files = found.map((f, i) => {
    const h = hashes[i]!;
    if ("error" in h) throw Object.assign(new Error(`cannot read ${join(dir, f.path)} to hash it`), { code: h.error });
    return { ...f, sha256: h.sha256 };
  });
  return files.sort((a, b) => a.path.localeCompare(b.path));
}
