import { readdirSync } from "node:fs";
import { join } from "node:path";

/** The committed strace captures the JSON writer and the failedOnly parse are checked on. */
export const STRACE_FIXTURES = join(import.meta.dirname, "..", "fixtures", "strace");

/** Every capture under test/fixtures/strace (top level, -ff sets, real-world), as paths relative to it. */
export const straceCaptures = (): string[] => [
  ...readdirSync(STRACE_FIXTURES).filter((f) => f.endsWith(".log")),
  ...readdirSync(join(STRACE_FIXTURES, "ff"))
    .filter((f) => !f.endsWith(".golden.jsonl"))
    .map((f) => join("ff", f)),
  ...readdirSync(join(STRACE_FIXTURES, "real-world"))
    .filter((f) => f.endsWith(".log"))
    .map((f) => join("real-world", f)),
];
