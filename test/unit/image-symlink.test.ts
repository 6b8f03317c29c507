import { describe, expect, it } from "vitest";
import { resolveImage } from "../../src/runtime/image.js";
import { GATE_PATH } from "../../src/runtime/runtime.js";

// Symlink entries are part of an image's identity: a link's target changes the hash (and so
// the docker image tag), and a dangling link is a valid entry, not a missing host file.
describe("resolveImage with symlink entries", () => {
  const gate = { hostPath: process.execPath, path: GATE_PATH };

  it("keeps a dangling link as a link and hashes its target", async () => {
    const a = await resolveImage({ files: [gate, { symlink: "/usr/share/zoneinfo/Nowhere", path: "/etc/localtime" }] });
    const b = await resolveImage({ files: [gate, { symlink: "/usr/share/zoneinfo/Asia/Shanghai", path: "/etc/localtime" }] });
    expect(a.files.find((f) => f.path === "/etc/localtime")).toEqual({ kind: "symlink", path: "/etc/localtime", target: "/usr/share/zoneinfo/Nowhere" });
    expect(a.hash).not.toBe(b.hash);
  });

  it("tells a link from a file at the same path", async () => {
    const link = await resolveImage({ files: [gate, { symlink: process.execPath, path: "/x" }] });
    const file = await resolveImage({ files: [gate, { hostPath: process.execPath, path: "/x" }] });
    expect(link.hash).not.toBe(file.hash);
  });
});
