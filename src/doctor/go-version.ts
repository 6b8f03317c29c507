// Whether the host's go can build go-probes/: its version against the module's `go` line,
// and whether GOTOOLCHAIN lets it fetch a newer toolchain by itself (Go 1.21+). Pure.

/** [major, minor, patch] of "go1.26.8", "1.26", "go1.27rc1" (an rc sorts as patch -1); null if unparsable. */
export function parseGoVersion(version: string): [number, number, number] | null {
  const m = version.trim().match(/^(?:go)?(\d+)\.(\d+)(?:\.(\d+)|(rc|beta)\d+)?/);
  if (!m) return null;
  return [Number(m[1]), Number(m[2]), m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? -1 : 0];
}

const compare = (a: [number, number, number], b: [number, number, number]): number =>
  a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** The `go` directive of a go.mod file ("1.26"), or null when it has none. */
export const readGoDirective = (goMod: string): string | null => goMod.match(/^go\s+(\S+)\s*$/m)?.[1] ?? null;

export interface GoToolchainVerdict {
  ok: boolean;
  /** Appended to the check's detail. */
  note: string;
  fix?: string;
}

/**
 * `required` is go.mod's directive; `gotoolchain` is `go env GOTOOLCHAIN`. An older go may
 * still build the probes when GOTOOLCHAIN is not "local": it downloads the required one.
 */
export function judgeGoToolchain(version: string, required: string, gotoolchain: string): GoToolchainVerdict {
  const have = parseGoVersion(version);
  const need = parseGoVersion(required);
  if (have === null || need === null) {
    return { ok: false, note: `cannot compare ${version} with go-probes/go.mod's go ${required}`, fix: `install Go ${required}+ from https://go.dev/dl/` };
  }
  if (compare(have, need) >= 0) return { ok: true, note: `probes need go >= ${required}` };
  const canSwitch = gotoolchain !== "local" && compare(have, [1, 21, 0]) >= 0;
  if (canSwitch) {
    return { ok: true, note: `probes need go >= ${required}: go downloads it on the first build (GOTOOLCHAIN=${gotoolchain})` };
  }
  return {
    ok: false,
    note: `probes need go >= ${required} and GOTOOLCHAIN=${gotoolchain} forbids fetching it`,
    fix: `install Go ${required}+ from https://go.dev/dl/ into /usr/local/go, or let go fetch it: go env -w GOTOOLCHAIN=auto`,
  };
}
