// Turns what the go command printed on failure into the one line a HarnessError carries:
// the first cause and its fix. Pure, so each shape of failure has a unit test.

/** `what` names the command that failed and where, e.g. "go build ./sigterm (in /x/go-probes)". */
export function describeGoFailure(output: string, what: string): string {
  const lines = output.split("\n").map((l) => l.trim()).filter(Boolean);

  const tooOld = output.match(/go\.mod requires go >= (\S+) \(running go (\S+?)[;)]/);
  if (tooOld) {
    return (
      `${what} failed: go.mod requires go >= ${tooOld[1]} but the toolchain is go${tooOld[2]}: ` +
      `install Go ${tooOld[1]}+ or allow switching (GOTOOLCHAIN=auto), or name a newer toolchain with --go`
    );
  }

  // go: download go1.99.0: golang.org/toolchain@…: reading https://…zip: 403 Forbidden
  //         server response: This module version is not available.
  const download = output.match(/^go: download (go\S+?): .*: ([^:\n]+)$/m);
  if (download) {
    const response = output.match(/server response: (.+)$/m)?.[1];
    return (
      `${what} failed: Go toolchain ${download[1]} could not be downloaded (${download[2]}${response ? `: ${response.trim()}` : ""}): ` +
      "name a released Go version (see https://go.dev/dl/, e.g. 1.27.3) and check that the Go module proxy (GOPROXY) is reachable"
    );
  }

  // The compiler reports `dir/file.go:line:col: message` under a `# package` heading.
  const compile = lines.find((l) => /^\S+\.go:\d+(:\d+)?: /.test(l));
  if (compile) return `${what} failed: ${compile}: fix that line and run again`;

  const first = lines.find((l) => !l.startsWith("#")) ?? "no output from go";
  return `${what} failed: ${first.replace(/^go: /, "")}: run the same command by hand to see the whole output`;
}
