import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, rename, stat, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { z } from "zod";
import { Finding, SCHEMA_VERSION, TrialEvidence, variantKey, type Variant } from "../evidence/schemas.js";
import { TOOL_VERSION } from "../version.js";
import { EVIDENCE, FINDINGS, MANIFEST, Manifest, type HostFacts } from "./manifest.js";

export const EvidenceFile = z.object({ schemaVersion: z.literal(SCHEMA_VERSION), trials: z.array(TrialEvidence) });
export const FindingsFile = z.object({ schemaVersion: z.literal(SCHEMA_VERSION), findings: z.array(Finding) });

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
    await mkdir(join(dir, "raw"), { recursive: true });
    const writer = new BundleWriter(dir, { runId, scenario, params, variants, startedAt: started.toISOString() });
    await writer.writeManifest({ status: "partial", reason: "the run is still in progress (or was killed)" });
    return writer;
  }

  get runId(): string {
    return this.header.runId;
  }

  async trialDir(variant: Variant, trialId: string): Promise<string> {
    const dir = join(this.dir, "raw", variantKey(variant), trialId);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  relative(path: string): string {
    return relative(this.dir, path);
  }

  #finishing: Promise<void> | null = null;

  /**
   * Writes evidence and findings (validated), then the manifest with every file's hash.
   * The first call wins: an interrupt's cleanup and the run's own error path may both
   * finish the bundle, and two writers of one manifest could interleave.
   */
  finish(result: { trials: TrialEvidence[]; findings: Finding[]; host?: HostFacts; reason?: string }): Promise<void> {
    this.#finishing ??= this.#finish(result);
    return this.#finishing;
  }

  async #finish(result: { trials: TrialEvidence[]; findings: Finding[]; host?: HostFacts; reason?: string }): Promise<void> {
    await this.writeJson(EVIDENCE, EvidenceFile.parse({ schemaVersion: SCHEMA_VERSION, trials: result.trials }));
    await this.writeJson(FINDINGS, FindingsFile.parse({ schemaVersion: SCHEMA_VERSION, findings: result.findings }));
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
    await this.writeJson(MANIFEST, manifest);
  }

  private async writeJson(name: string, value: unknown): Promise<void> {
    // Write-then-rename: a reader never sees half a JSON file.
    const tmp = join(this.dir, `.${name}.tmp`);
    await writeFile(tmp, `${JSON.stringify(value, null, 1)}\n`);
    await rename(tmp, join(this.dir, name));
  }
}

async function hashFiles(dir: string): Promise<Manifest["files"]> {
  const files: Manifest["files"] = [];
  const walk = async (sub: string): Promise<void> => {
    for (const entry of await readdir(join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(rel);
      else if (entry.isFile() && rel !== MANIFEST && !entry.name.startsWith(".")) {
        files.push({ path: rel, bytes: (await stat(join(dir, rel))).size, sha256: await sha256File(join(dir, rel)) });
      }
    }
  };
  await walk("");
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolveHash, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolveHash(hash.digest("hex")));
  });
}
