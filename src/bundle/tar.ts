import { Header } from "tar";
import { HarnessError } from "../errors.js";

export interface TarMember {
  path: string;
  data: Buffer;
}

const BLOCK = 512;

/**
 * A reproducible POSIX ustar stream of regular files, in the order given: every header says
 * mode 0644, uid/gid 0 with no user or group names, the same mtime, and nothing else about
 * the host (no atime/ctime, device or inode), so the same members give the same bytes on
 * any machine. Paths must fit ustar's name+prefix fields: a pax header would carry more
 * host-dependent fields, and bundle paths are far shorter anyway.
 */
export function makeReproducibleTar(members: readonly TarMember[], mtime: Date): Buffer {
  const seconds = new Date(Math.floor(mtime.getTime() / 1000) * 1000);
  const parts: Buffer[] = [];
  for (const { path, data } of members) {
    const block = Buffer.alloc(BLOCK);
    const header = new Header({ path, mode: 0o644, uid: 0, gid: 0, uname: "", gname: "", size: data.length, mtime: seconds, type: "File" });
    if (header.encode(block, 0) || !/^[\x20-\x7e]+$/.test(path)) {
      throw new HarnessError("BAD_BUNDLE", `cannot archive ${JSON.stringify(path)} portably: ustar holds printable ASCII paths of at most 255 bytes (100 after the last split)`);
    }
    parts.push(block, data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  // Two zero blocks end the archive.
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}
