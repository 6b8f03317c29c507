import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { once } from "node:events";
import { BundleWriter } from "../src/bundle/write.js";
import type { TrialEvidence } from "../src/evidence/schemas.js";
import { describeStrace } from "../src/parse/describe.js";
import type { StraceRecord } from "../src/parse/records.js";

// A synthetic bundle of one trial with `n` strace records (and their raw strace.log, so
// the detail pane finds raw lines as in a real bundle): Go runtime-like traffic on eight
// threads, some EAGAIN/ETIMEDOUT failures, SIGURG preemption, one SIGTERM near the end.
// Written through BundleWriter, as `run` writes one: the bench also proves the writer
// takes a million records.

const T0 = 1_796_000_000_000_000;

export async function writeSyntheticBundle(root: string, n: number): Promise<string> {
  const variant = { runtime: "namespace", init: "none", go: "go1.26.8" };
  const writer = await BundleWriter.create(root, "bench", {}, [variant]);
  const trialDir = await writer.trialDir(variant, "t001");
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
  await writer.writeRaw(join(trialDir, "probe.jsonl"), probe);
  await writer.writeRaw(join(trialDir, "runtime.jsonl"), runtime);
  timeline.unshift({ atUs: -5000, source: "runtime", index: 0, pid: null, text: "trial id=t001" }, { atUs: -100, source: "probe", index: 0, pid: null, text: "start go=go1.26.8 pid=1 ppid=0" });
  const rel = (f: string) => writer.relative(join(trialDir, f));
  const trial: TrialEvidence = {
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
  const cite = [n - 1000, 5, 10].map((i) => ({ trial: "t001", source: "strace" as const, index: i, text: timeline[i + 2]!.text }));
  await writer.finish({ trials: [trial], findings: [{ claim: "B1", statement: "synthetic", variant, verdict: "inconclusive", summary: "a synthetic finding citing three records", evidence: cite }] });
  return writer.dir;
}

// `node replay-bundle.js <root> <n>`: writes the bundle and prints its directory (bench/replay.ts).
if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(`${await writeSyntheticBundle(process.argv[2]!, Number(process.argv[3]))}\n`);
