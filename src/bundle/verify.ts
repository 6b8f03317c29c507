import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { z } from "zod";
import { SCHEMA_VERSION } from "../evidence/schemas.js";
import { ExportedManifest } from "./export-manifest.js";
import { EVIDENCE, FINDINGS, MANIFEST } from "./manifest.js";
import { EvidenceFile, FindingsFile, sha256File } from "./write.js";

/** One thing wrong with a bundle; `path` is bundle-relative when the problem is a file's. */
export interface BundleProblem {
  path?: string;
  problem: string;
}

export interface BundleCheck {
  /** null when manifest.json itself is unreadable, not JSON, of another version or malformed. */
  manifest: ExportedManifest | null;
  problems: BundleProblem[];
}

export interface VerifyOptions {
  /** Accept a bundle whose run was cut short (status "partial"): its files must still match. */
  allowPartial?: boolean;
}

/** A listed path that stays inside the bundle and names one file one way. */
function isSafeBundlePath(path: string): boolean {
  return path !== "" && !path.startsWith("/") && !/[\\\u0000-\u001f\u007f]/.test(path) && path.split("/").every((s) => s !== "" && s !== "." && s !== "..");
}

/**
 * Checks a bundle directory and reports every problem, not just the first: the schema
 * version, the manifest's shape, every listed file (inside the bundle, a regular file, its
 * size and sha256), that nothing unlisted is present, and that evidence and findings parse.
 */
export async function checkBundleDir(dir: string, options: VerifyOptions = {}): Promise<BundleCheck> {
  const problems: BundleProblem[] = [];
  const fail = (problem: string): BundleCheck => ({ manifest: null, problems: [{ path: MANIFEST, problem }] });

  const manifestStat = await lstat(join(dir, MANIFEST)).catch(() => null);
  if (manifestStat !== null && !manifestStat.isFile()) return fail("not a regular file (links and devices are refused)");
  const text = await readFile(join(dir, MANIFEST), "utf8").catch((e: NodeJS.ErrnoException) => e);
  if (text instanceof Error) return fail(text.code === "ENOENT" ? "missing: this is not a bundle directory" : `cannot read it: ${text.code ?? text.message}`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail("is not valid JSON");
  }
  const version = (raw as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== SCHEMA_VERSION) return fail(`has schema version ${JSON.stringify(version)}; this forensics reads version ${SCHEMA_VERSION}`);
  const parsed = ExportedManifest.safeParse(raw);
  if (!parsed.success) return { manifest: null, problems: parsed.error.issues.map((i) => ({ path: MANIFEST, problem: `malformed at ${i.path.join(".") || "(root)"}: ${i.message}` })) };
  const manifest = parsed.data;

  if (manifest.status === "partial" && !options.allowPartial) {
    problems.push({ problem: `partial bundle (the run was cut short: ${manifest.reason ?? "no reason given"}); pass --allow-partial to accept one` });
  }
  const listed = new Set<string>();
  for (const file of manifest.files) {
    if (!isSafeBundlePath(file.path) || file.path === MANIFEST) {
      problems.push({ path: file.path, problem: "listed path is outside the bundle or not canonical (refused)" });
      continue;
    }
    if (listed.has(file.path)) {
      problems.push({ path: file.path, problem: "listed twice in the manifest" });
      continue;
    }
    listed.add(file.path);
    const st = await lstat(join(dir, file.path)).catch(() => null);
    if (st === null) problems.push({ path: file.path, problem: "listed in the manifest but missing" });
    else if (!st.isFile()) problems.push({ path: file.path, problem: "not a regular file (links and devices are refused)" });
    else if (st.size !== file.bytes) problems.push({ path: file.path, problem: `is ${st.size} bytes, the manifest says ${file.bytes} (modified or truncated)` });
    else {
      const hash = await sha256File(join(dir, file.path)).catch((err: NodeJS.ErrnoException) => `cannot be read (${err.code ?? err.message})`);
      if (hash !== file.sha256) problems.push({ path: file.path, problem: /^[0-9a-f]{64}$/.test(hash) ? "does not match its sha256 in the manifest (modified or corrupt)" : hash });
    }
  }
  const present = await walkNonDirectories(dir).catch((err: NodeJS.ErrnoException) => {
    problems.push({ problem: `cannot list the bundle's files (${err.code ?? err.message})` });
    return [];
  });
  for (const { path, link } of present) {
    if (path !== MANIFEST && !listed.has(path)) problems.push({ path, problem: `present but not listed in the manifest${link ? " (a symbolic link)" : ""}` });
  }

  const schemas: [string, z.ZodType][] = [
    [EVIDENCE, EvidenceFile],
    [FINDINGS, FindingsFile],
  ];
  for (const [name, schema] of schemas) {
    if (!listed.has(name)) {
      if (manifest.status === "complete") problems.push({ path: name, problem: "not listed in the manifest, which says the bundle is complete" });
      continue;
    }
    if (problems.some((p) => p.path === name)) continue;
    const content = await readFile(join(dir, name), "utf8").catch(() => null);
    if (content === null) {
      problems.push({ path: name, problem: "cannot be read" });
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(content);
    } catch {
      problems.push({ path: name, problem: "is not valid JSON" });
      continue;
    }
    const result = schema.safeParse(value);
    if (!result.success) problems.push({ path: name, problem: `malformed at ${result.error.issues[0]?.path.join(".")}: ${result.error.issues[0]?.message}` });
  }
  return { manifest, problems };
}

/** Everything under dir that is not a directory, bundle-relative (links included, never followed). */
async function walkNonDirectories(dir: string, sub = ""): Promise<{ path: string; link: boolean }[]> {
  const found: { path: string; link: boolean }[] = [];
  for (const entry of await readdir(join(dir, sub), { withFileTypes: true })) {
    const rel = sub ? `${sub}/${entry.name}` : entry.name;
    if (entry.isDirectory()) found.push(...(await walkNonDirectories(dir, rel)));
    else found.push({ path: rel, link: entry.isSymbolicLink() });
  }
  return found.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** One line for a problem: "path: problem" or the problem alone. */
export const formatProblem = (p: BundleProblem): string => (p.path === undefined ? p.problem : `${p.path}: ${p.problem}`);
