import { createHash } from "node:crypto";
import { appendFile, cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { Header } from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBundle, verifyBundle } from "../../src/bundle/archive.js";
import { exportBundle } from "../../src/bundle/export.js";
import { ExportedManifest } from "../../src/bundle/export-manifest.js";
import { HarnessError } from "../../src/errors.js";
import { writeRealBundle } from "../support/bundle.js";

/** The members of an uncompressed tar, in order, with their headers. */
function members(tar: Buffer): { header: Header; data: Buffer }[] {
  const out: { header: Header; data: Buffer }[] = [];
  for (let off = 0; off + 512 <= tar.length; ) {
    const header = new Header(tar, off);
    if (header.nullBlock) break;
    const size = header.size ?? 0;
    out.push({ header, data: tar.subarray(off + 512, off + 512 + size) });
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

let root: string;
let bundle: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "forensics-export-"));
  bundle = await writeRealBundle(join(root, "traces"));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe("exportBundle on a real bundle", () => {
  it("round trip: the archive verifies, and its manifest covers every member with its sha256", async () => {
    const r = await exportBundle(bundle, { out: join(root, "a.tar.gz"), redact: true });
    expect(await verifyBundle(r.out)).toMatchObject({ kind: "archive", problems: [] });
    const all = members(gunzipSync(await readFile(r.out)));
    expect(all).toHaveLength(r.members);
    const [first, ...rest] = all;
    const manifest = ExportedManifest.parse(JSON.parse(first!.data.toString()));
    const top = manifest.runId;
    expect(first!.header.path).toBe(`${top}/manifest.json`);
    expect(rest.map((m) => m.header.path)).toEqual(manifest.files.map((f) => `${top}/${f.path}`).sort());
    for (const m of rest) {
      const listed = manifest.files.find((f) => `${top}/${f.path}` === m.header.path)!;
      expect({ bytes: m.data.length, sha256: sha256(m.data) }).toEqual({ bytes: listed.bytes, sha256: listed.sha256 });
    }
    expect(manifest.files.length).toBeGreaterThan(60);
    expect(manifest.redaction).toEqual({ applied: true, stripHost: false, counts: {} });
  });

  it("fixed headers: regular files 0644, owner 0:0 without names, one mtime (the run's start), no links", async () => {
    const r = await exportBundle(bundle, { out: join(root, "h.tar.gz"), redact: true });
    const started = Math.floor(Date.parse(JSON.parse(await readFile(join(bundle, "manifest.json"), "utf8")).startedAt) / 1000);
    for (const { header } of members(gunzipSync(await readFile(r.out)))) {
      expect({ type: header.type, mode: header.mode, uid: header.uid, gid: header.gid, uname: header.uname, gname: header.gname, mtime: header.mtime!.getTime() / 1000, linkpath: header.linkpath }).toEqual({
        type: "File",
        mode: 0o644,
        uid: 0,
        gid: 0,
        uname: "",
        gname: "",
        mtime: started,
        linkpath: "",
      });
    }
  });

  it("is reproducible: two exports, and an export of a copy (other inodes, mtimes), are byte-identical", async () => {
    const a = await exportBundle(bundle, { out: join(root, "r1.tar.gz"), redact: true });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const b = await exportBundle(bundle, { out: join(root, "r2.tar.gz"), redact: true });
    const copy = join(root, "copy", "bundle");
    await cp(bundle, copy, { recursive: true, preserveTimestamps: false });
    const c = await exportBundle(copy, { out: join(root, "r3.tar.gz"), redact: true });
    const [ga, gb, gc] = await Promise.all([a, b, c].map((r) => readFile(r.out)));
    // The tar is the guarantee; the gzip layer is identical on one Node/zlib version.
    expect(sha256(gunzipSync(gb!))).toBe(sha256(gunzipSync(ga!)));
    expect(sha256(gunzipSync(gc!))).toBe(sha256(gunzipSync(ga!)));
    expect(Buffer.compare(ga!, gb!)).toBe(0);
    expect(Buffer.compare(ga!, gc!)).toBe(0);
    expect(a.sha256).toBe(c.sha256);
  });

  it("refuses a tampered bundle (one byte), a partial one without --allow-partial, and an unlisted file, naming each", async () => {
    const copy = join(root, "bad", "bundle");
    await cp(bundle, copy, { recursive: true });
    const refusal = async (options = {}) => {
      const err = await exportBundle(copy, { out: join(root, "bad.tar.gz"), redact: true, ...options }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HarnessError);
      expect((err as HarnessError).code).toBe("BAD_BUNDLE");
      expect((err as HarnessError).message).not.toContain("\n");
      return (err as HarnessError).message;
    };
    const probe = "raw/namespace-none-go1.26.8/t001/probe.jsonl";
    const original = await readFile(join(copy, probe));
    const flipped = Buffer.from(original);
    flipped[5]! ^= 1;
    await writeFile(join(copy, probe), flipped);
    expect(await refusal()).toBe(`${copy}: refusing to export: ${probe}: does not match its sha256 in the manifest (modified or corrupt); run forensics verify ${copy} for the full list`);
    await writeFile(join(copy, probe), original);

    await writeFile(join(copy, "notes.txt"), "GITHUB_TOKEN=x\n");
    expect(await refusal()).toContain("notes.txt: present but not listed in the manifest");
    await rm(join(copy, "notes.txt"));

    const manifestPath = join(copy, "manifest.json");
    const m = JSON.parse(await readFile(manifestPath, "utf8"));
    await writeFile(manifestPath, JSON.stringify({ ...m, status: "partial", reason: "interrupted (SIGINT)" }));
    expect(await refusal()).toContain("partial bundle (the run was cut short: interrupted (SIGINT)); pass --allow-partial to accept one");
    const partial = await exportBundle(copy, { out: join(root, "partial.tar.gz"), redact: true, allowPartial: true });
    expect((await verifyBundle(partial.out)).problems).toEqual([{ problem: "partial bundle (the run was cut short: interrupted (SIGINT)); pass --allow-partial to accept one" }]);
    expect((await verifyBundle(partial.out, { allowPartial: true })).problems).toEqual([]);
    expect(await readFile(join(root, "bad.tar.gz")).catch(() => null)).toBeNull();
  });
});

// Secrets a capture can hold, planted into the raw captures of a real bundle before its
// evidence is parsed and its manifest hashed (the harness cannot plant environment through
// the CLI yet, and strace runs without -v). Values are random, shaped like real ones.
const SECRETS = {
  github: "ghp_Zq8RkT2vWm4XbN7cLp1sYd9fHj3gKa6eUo0i",
  awsSecret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq3XPL9mT2",
  awsKey: "AKIAW4N7Q2ZLXK8RT5VB",
  dbPassword: 'hun"ter2-Zx9!',
  urlPassword: "Sup3rS3cretPw",
  jwt: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmb3JlbnNpY3MtdGVzdCJ9.Zm9yZW5zaWNzLXRlc3Qtc2lnbmF0dXJl",
  cookie: "sess-8c1f2e9a7b",
  pemBody: "MIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
  npmToken: "npm_k2Jd8Qw4Zr7Tx1Vb5Nm3Lp9Hc6Gf0Sa2Ye4U",
  apiKey: "sk_live_51HqY2eKz9Xv",
  flagPassword: "Fl4gPassw0rd-q7Zr",
  home: "/home/forensics-user-7f3a",
  host: "buildbox-7f3a.corp.example",
};
const STRACE = "raw/namespace-none-go1.26.8/t005/strace.log";
const PROBE = "raw/namespace-tini-go1.26.8/t013/probe.jsonl";
const STDERR = "raw/namespace-dumb-init-go1.26.8/t021/stderr.txt";

async function plantSecrets(dir: string): Promise<void> {
  const s = SECRETS;
  const escaped = s.dbPassword.replace(/"/g, '\\"');
  await appendFile(
    join(dir, STRACE),
    [
      `30001 1795647899.372800 execve("/usr/bin/curl", ["curl", "--password", "${s.flagPassword}", "https://app:${s.urlPassword}@api.example/v1"], ["PATH=/usr/bin", "HOME=${s.home}", "GITHUB_TOKEN=${s.github}", "AWS_SECRET_ACCESS_KEY=${s.awsSecret}", "AWS_ACCESS_KEY_ID=${s.awsKey}", "DB_PASSWORD=${escaped}", "HOSTNAME=${s.host}"]) = 0 <0.000400>`,
      `30001 1795647899.372900 write(3, "GET /v1 HTTP/1.1\\r\\nHost: api.example\\r\\nAuthorization: Bearer ${s.jwt}\\r\\nCookie: session=${s.cookie}\\r\\n\\r\\n", 160) = 160 <0.000020>`,
      `30001 1795647899.373000 read(4, "-----BEGIN RSA PRIVATE KEY-----\\n${s.pemBody}\\n-----END RSA PRIVATE KEY-----\\n", 4096) = 130 <0.000010>`,
      `30001 1795647899.373100 +++ exited with 0 +++`,
      "",
    ].join("\n"),
  );
  await appendFile(join(dir, PROBE), `${JSON.stringify({ t: 1795647899373200000, ev: "env", vars: { NPM_TOKEN: s.npmToken, HOME: s.home }, argv: [`--api-key=${s.apiKey}`] })}\n`);
  await writeFile(join(dir, STDERR), `dial ${s.host}:443 as ${s.home}/.netrc: STRIPE_API_KEY=${s.apiKey} rejected (token ${s.github})\n`);
}

describe("exported archives hold none of the planted secrets", () => {
  let planted: string;

  beforeAll(async () => {
    planted = await writeRealBundle(join(root, "planted"), plantSecrets);
  });

  /** Every member of the archive, decompressed, as latin1 text (bytes one to one). */
  const texts = async (path: string) => members(gunzipSync(await readFile(path))).map((m) => ({ path: m.header.path!, text: m.data.toString("latin1") }));
  // Each secret and the forms the bundle stores it in: raw, strace-escaped, JSON-escaped twice.
  const forms = (v: string) => [...new Set([v, v.replace(/"/g, '\\"'), JSON.stringify(v).slice(1, -1), JSON.stringify(JSON.stringify(v)).slice(1, -1)])];

  it("the source bundle holds them in its captures and, parsed, in the trial's evidence files", async () => {
    const strace = await readFile(join(planted, STRACE), "utf8");
    const evidence = await readFile(join(planted, STRACE.replace(/^raw\//, "evidence/").replace(/strace\.log$/, "strace.ndjson")), "utf8");
    const timeline = await readFile(join(planted, STRACE.replace(/^raw\//, "evidence/").replace(/strace\.log$/, "timeline.bin")), "latin1");
    expect(timeline).toContain(SECRETS.github);
    for (const v of [SECRETS.github, SECRETS.awsSecret, SECRETS.jwt, SECRETS.pemBody]) {
      expect(strace).toContain(v);
      expect(evidence).toContain(v);
    }
    expect(evidence).toContain(JSON.stringify(JSON.stringify(SECRETS.dbPassword).slice(1, -1)).slice(1, -1));
  });

  it("default export: no secret in any member; the manifest counts each rule and lists no value", async () => {
    const r = await exportBundle(planted, { out: join(root, "planted.tar.gz"), redact: true });
    const { home: _home, host: _host, ...secrets } = SECRETS;
    const found: string[] = [];
    for (const { path, text } of await texts(r.out)) {
      for (const [name, v] of Object.entries(secrets)) for (const f of forms(v)) if (text.includes(f)) found.push(`${name} in ${path}`);
    }
    expect(found).toEqual([]);
    expect(r.redaction.counts).toMatchObject({
      "secret-env": expect.any(Number),
      "url-credentials": expect.any(Number),
      "authorization-header": expect.any(Number),
      "cookie-header": expect.any(Number),
      "pem-private-key": expect.any(Number),
      "github-token": expect.any(Number),
    });
    const manifestText = (await texts(r.out))[0]!.text;
    expect(JSON.parse(manifestText).redaction).toEqual(r.redaction);
    // Without --strip-host the host name and home stay (they are often what a bug is about).
    expect((await texts(r.out)).some((m) => m.text.includes(SECRETS.host))).toBe(true);
    expect(await verifyBundle(r.out)).toMatchObject({ problems: [] });
    // The redacted record files changed length: the rebuilt timeline still finds each record, and its texts are redacted too.
    const opened = await openBundle(r.out);
    try {
      const t005 = opened.trials.find((t) => t.id === "t005")!;
      const whole = t005.evidence();
      const execve = whole.records.strace!.findIndex((rec) => rec.kind === "syscall" && rec.syscall === "execve" && rec.args[0] === '"/usr/bin/curl"');
      expect(t005.record("strace", execve)).toEqual(whole.records.strace![execve]);
      expect(JSON.stringify(t005.record("strace", execve))).toContain("[redacted:secret-env]");
      const row = t005.columns().record.findIndex((index, i) => index === execve && t005.columns().source[i] === 0);
      expect(t005.columns().text(row)).toContain("[redacted:secret-env]");
      expect(t005.columns().text(row)).not.toContain(SECRETS.github);
    } finally {
      await opened.close();
    }
  });

  it("--strip-host also replaces the host name and home with placeholders", async () => {
    const r = await exportBundle(planted, { out: join(root, "stripped.tar.gz"), redact: true, stripHost: { hosts: [SECRETS.host], homes: [SECRETS.home] } });
    for (const { path, text } of await texts(r.out)) {
      expect(text, path).not.toContain(SECRETS.host);
      expect(text, path).not.toContain(SECRETS.home);
    }
    expect(r.redaction).toMatchObject({ stripHost: true, counts: { hostname: expect.any(Number), "home-path": expect.any(Number) } });
    const stderr = (await texts(r.out)).find((m) => m.path.endsWith(STDERR))!.text;
    expect(stderr).toBe("dial [host-1]:443 as [home-1]/.netrc: STRIPE_API_KEY=[redacted:secret-env] rejected (token [redacted:github-token])\n");
  });

  it("--no-redact keeps them and says so in the manifest", async () => {
    const r = await exportBundle(planted, { out: join(root, "raw.tar.gz"), redact: false });
    expect(r.redaction).toEqual({ applied: false, stripHost: false, counts: {} });
    expect((await texts(r.out)).some((m) => m.text.includes(SECRETS.github))).toBe(true);
  });
});
