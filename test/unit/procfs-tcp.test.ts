import { describe, expect, it } from "vitest";
import { parseFibTrieLocal, parseProcNetTcp } from "../../src/runtime/procfs.js";

// Lines as Linux 6.18 prints them (a Go server in a Docker container, and the host).
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:A41F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 81234 1 0000000000000000 100 0 0 10 0
   1: 020011AC:1F90 010011AC:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 81240 1 0000000000000000 20 4 30 10 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 81200 1 0000000000000000 100 0 0 10 0
`;
const FIB = `Main:
  +-- 0.0.0.0/0 3 0 5
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 172.17.0.0/16 2 0 2
        |-- 172.17.0.2
           /32 host LOCAL
        |-- 172.17.255.255
           /32 link BROADCAST
Local:
  +-- 0.0.0.0/0 3 0 5
        |-- 172.17.0.2
           /32 host LOCAL
`;

describe("parseProcNetTcp", () => {
  it("reads addresses in host byte order, big-endian ports, and names the states", () => {
    expect(parseProcNetTcp(TCP)).toEqual([
      { local: { address: "127.0.0.1", port: 42015 }, remote: { address: "0.0.0.0", port: 0 }, state: "listen", inode: 81234 },
      { local: { address: "172.17.0.2", port: 8080 }, remote: { address: "172.17.0.1", port: 54000 }, state: "established", inode: 81240 },
    ]);
    expect(parseProcNetTcp(TCP6)).toEqual([{ local: { address: "::", port: 8080 }, remote: { address: "::", port: 0 }, state: "listen", inode: 81200 }]);
  });
});

describe("parseFibTrieLocal", () => {
  it("lists the namespace's own addresses once each, not broadcast or network entries", () => {
    expect(parseFibTrieLocal(FIB)).toEqual(["127.0.0.1", "172.17.0.2"]);
  });
});
