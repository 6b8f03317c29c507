// `forensics audit`: an image (by its config and files; its program is never run, only
// --build runs its go in throwaway containers) or a binary on the host.

import { readFile, stat } from "node:fs/promises";
import { HarnessError } from "../errors.js";
import { hostGoArch } from "../probe/go-toolchain.js";
import { openImageFiles } from "../runtime/docker-image-files.js";
import { judgeBinary } from "./binary-checks.js";
import { readBinaryFacts } from "./binary-facts.js";
import { shellCommand, type AuditReport } from "./check.js";
import { gatherImageFacts, type GatherOptions } from "./image-facts.js";
import { judgeImage } from "./image-checks.js";

export async function auditImage(reference: string, options: GatherOptions): Promise<AuditReport> {
  const files = await openImageFiles(reference);
  try {
    const facts = await gatherImageFacts(reference, files, options);
    const { id, os, architecture } = facts.config;
    return {
      target: { kind: "image", reference, id, platform: `${os}/${architecture}`, program: facts.program?.found?.path ?? null },
      checks: judgeImage(facts),
    };
  } finally {
    await files.close();
  }
}

/** The binary checks only; a path that is not an executable for this machine is BAD_INPUT. */
export async function auditBinary(path: string): Promise<AuditReport> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new HarnessError("BAD_INPUT", `${path}: ${err.code === "ENOENT" ? "no such file" : err.message}; pass an image name or the path of a program binary`);
  });
  if (!st.isFile()) throw new HarnessError("BAD_INPUT", `${path} is not a regular file; pass the path of a program binary`);
  const facts = readBinaryFacts(await readFile(path));
  if (facts.kind === "not-elf") {
    throw new HarnessError("BAD_INPUT", `${path} is not an executable for this machine: ${facts.shebang ? `a script (${facts.shebang})` : "not an ELF file"}; pass a Linux program binary`);
  }
  if (!facts.executable || facts.arch !== hostGoArch()) {
    const what = facts.executable ? `a ${facts.machine} program` : `an ELF object that cannot be run`;
    throw new HarnessError("BAD_INPUT", `${path} is not an executable for this machine (linux/${hostGoArch()}): ${what}; audit the binary built for this machine, or the image that holds it`);
  }
  return { target: { kind: "binary", path }, checks: judgeBinary(facts, { where: path, runTarget: `--binary ${shellCommand([path])}` }) };
}
