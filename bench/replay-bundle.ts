import { createWriteStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { once } from "node:events";
import { EVIDENCE, FINDINGS, MANIFEST } from "../src/bundle/manifest.js";
import { sha256File } from "../src/bundle/write.js";
import { SCHEMA_VERSION } from "../src/evidence/schemas.js";
import { describeStrace } from "../src/parse/describe.js";
import type { StraceRecord } from "../src/parse/records.js";

// A synthetic bundle of one trial with `n` strace records (and their raw strace.log, so
// the detail pane finds raw lines as in a real bundle): Go runtime-like traffic on eight
// threads, some EAGAIN/ETIMEDOUT failures, SIGURG preemption, one SIGTERM near the end.

const RUN_ID = "bench-replay-million";
const T0 = 1_796_000_000_000_000;

export async function writeSyntheticBundle(root: string, n: number): Promise<string> {
  const dir = join(root, RUN_ID);
  const trialDir = join(dir, "raw", "namespace-none-go1.26.8", "t001");
  await mkdir(trialDir, { recursive: true });
  const variant = { runtime: "namespace", init: "none", go: "go1.26.8" };
  const log = createWriteStream(join(trialDir, "strace.log"));
  const records: StraceRecord[] = [];
  const timeline: { atUs: number; source: "strace" | "probe" | "runtime"; index: number; pid: number | null; text: string }[] = [];
  let us = T0;
  let chunk = "";
  for (let i = 0; i < n; i++) {
    us += 1 + ((i * 7919) % 23);
    const pid = 4000 + (i % 8);
    let r: StraceRecord;
    const base = { pid, ts: us / 1e6, tsUs: us };
    if (i === n - 1000) r = { kind: "signal", ...base, signal: "SIGTERM", info: { si_signo: "SIGTERM", si_code: "SI_USER", si_pid: "0", si_uid: "0" } };
    else if (i % 997 === 0) r = { kind: "signal", ...base, signal: "SIGURG", info: { si_signo: "SIGURG", si_code: "SI_TKILL", si_pid: "1", si_uid: "0" } };
    else if (i % 5 === 0) r = { kind: "syscall", ...base, syscall: "futex", args: [`0x${(0xc000000000 + (i % 64) * 8).toString(16)}`, "FUTEX_WAIT_PRIVATE", "0", "NULL"], ret: "-1", errno: "EAGAIN", errnoText: "Resource temporarily unavailable", retNote: null, durationUs: 4, resumed: false, unfinished: false };
    else if (i % 3 === 0) r = { kind: "syscall", ...base, syscall: "nanosleep", args: ["{tv_sec=0, tv_nsec=20000}", "NULL"], ret: "0", errno: null, errnoText: null, retNote: null, durationUs: 80, resumed: false, unfinished: false };
    else if (i % 7 === 0) r = { kind: "syscall", ...base, syscall: "write", args: ["1<pipe:[1234]>", `"{\\"t\\":${us}000,\\"ev\\":\\"tick\\",\\"n\\":${i}}\\n"`, "40"], ret: "40", errno: null, errnoText: null, retNote: null, durationUs: 12, resumed: false, unfinished: false };
    else r = { kind: "syscall", ...base, syscall: "futex", args: [`0x${(0xc000000000 + (i % 64) * 8).toString(16)}`, "FUTEX_WAKE_PRIVATE", "1"], ret: "1", errno: null, errnoText: null, retNote: null, durationUs: 6, resumed: false, unfinished: false };
    records.push(r);
    const text = describeStrace(r);
    timeline.push({ atUs: us - T0, source: "strace", index: i, pid, text });
    const stamp = `${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, "0")}`;
    chunk += `${pid}  ${stamp} ${r.kind === "signal" ? `--- ${r.signal} {${Object.entries(r.info).map(([k, v]) => `${k}=${v}`).join(", ")}} ---` : text.replace(/^\[\d+\] /, "")}\n`;
    if (chunk.length > 1 << 20) {
      if (!log.write(chunk)) await once(log, "drain");
      chunk = "";
    }
  }
  log.end(chunk);
  await once(log, "finish");
  const probe = `{"t":${T0 - 100}000,"ev":"start","go":"go1.26.8","pid":1,"ppid":0}\n`;
  const runtime = `{"t":${T0 - 5000}000,"ev":"trial","id":"t001","variant":${JSON.stringify(variant)},"request":{"observers":["strace"],"intent":"bench"}}\n`;
  await writeFile(join(trialDir, "probe.jsonl"), probe);
  await writeFile(join(trialDir, "runtime.jsonl"), runtime);
  timeline.unshift({ atUs: -5000, source: "runtime", index: 0, pid: null, text: "trial id=t001" }, { atUs: -100, source: "probe", index: 0, pid: null, text: "start go=go1.26.8 pid=1 ppid=0" });
  const rel = (f: string) => `raw/namespace-none-go1.26.8/t001/${f}`;
  const trial = {
    id: "t001",
    variant,
    request: { observers: ["strace"], intent: "bench" },
    raw: { "strace.log": rel("strace.log"), "probe.jsonl": rel("probe.jsonl"), "runtime.jsonl": rel("runtime.jsonl") },
    originUs: T0,
    origin: { us: T0, source: "strace" },
    records: {
      strace: records,
      probe: [{ kind: "probe", tsUs: T0 - 100, ev: "start", fields: { go: "go1.26.8", pid: 1, ppid: 0 } }],
      runtime: [{ kind: "probe", tsUs: T0 - 5000, ev: "trial", fields: { id: "t001", variant, request: { observers: ["strace"], intent: "bench" } } }],
    },
    timeline,
  };
  await writeJsonStreamed(join(dir, EVIDENCE), trial);
  const cite = [n - 1000, 5, 10].map((i) => ({ trial: "t001", source: "strace", index: i, text: timeline[i + 2]!.text }));
  await writeFile(join(dir, FINDINGS), JSON.stringify({ schemaVersion: SCHEMA_VERSION, findings: [{ claim: "B1", statement: "synthetic", variant, verdict: "inconclusive", summary: "a synthetic finding citing three records", evidence: cite }] }));
  const files = [];
  for (const f of [EVIDENCE, FINDINGS, rel("strace.log"), rel("probe.jsonl"), rel("runtime.jsonl")].sort()) {
    const { size } = await import("node:fs").then((fs) => fs.statSync(join(dir, f)));
    files.push({ path: f, bytes: size, sha256: await sha256File(join(dir, f)) });
  }
  const manifest = { schemaVersion: SCHEMA_VERSION, tool: { name: "forensics", version: "bench" }, status: "complete", runId: RUN_ID, scenario: "bench", params: {}, variants: [variant], startedAt: new Date(T0 / 1000).toISOString(), files };
  await writeFile(join(dir, MANIFEST), JSON.stringify(manifest));
  return dir;
}

/** evidence.json is too big for one JSON.stringify of the whole file; the arrays go out in pieces. */
async function writeJsonStreamed(path: string, trial: Record<string, unknown> & { records: { strace: unknown[] }; timeline: unknown[] }): Promise<void> {
  const out = createWriteStream(path);
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, "drain");
  };
  const { records, timeline, ...head } = trial;
  const { strace, ...otherRecords } = records;
  await write(`{"schemaVersion":${SCHEMA_VERSION},"trials":[{${JSON.stringify(head).slice(1, -1)},"records":{${JSON.stringify(otherRecords).slice(1, -1)},"strace":[`);
  for (let i = 0; i < strace.length; i += 10_000) await write(`${i ? "," : ""}${JSON.stringify(strace.slice(i, i + 10_000)).slice(1, -1)}`);
  await write(`]},"timeline":[`);
  for (let i = 0; i < timeline.length; i += 10_000) await write(`${i ? "," : ""}${JSON.stringify(timeline.slice(i, i + 10_000)).slice(1, -1)}`);
  await write(`]}]}`);
  out.end();
  await once(out, "finish");
}
