import { describe, expect, it } from "vitest";
import { describeGoFailure } from "../../src/probe/go-failure.js";

// Outputs captured from go1.26.8 on the development host.
const WHAT = "go build ./bad (in /m, GOTOOLCHAIN=local)";

describe("describeGoFailure", () => {
  it("names the first compiler error, not the package heading", () => {
    const out = "# x/bad\nbad/main.go:4:2: undefined: undefinedThing\nbad/main.go:5:2: declared and not used: x\n";
    expect(describeGoFailure(out, WHAT)).toBe(`${WHAT} failed: bad/main.go:4:2: undefined: undefinedThing: fix that line and run again`);
  });

  it("says how to get a new enough toolchain when go.mod asks for one", () => {
    const out = "go: go.mod requires go >= 1.99 (running go 1.26.8; GOTOOLCHAIN=local)\n";
    expect(describeGoFailure(out, WHAT)).toMatch(/requires go >= 1\.99 but the toolchain is go1\.26\.8: install Go 1\.99\+ or allow switching \(GOTOOLCHAIN=auto\)/);
  });

  it("explains a toolchain download the proxy refuses", () => {
    const out =
      "go: downloading go1.99.0 (linux/amd64)\n" +
      "go: download go1.99.0: golang.org/toolchain@v0.0.1-go1.99.0.linux-amd64: reading https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go1.99.0.linux-amd64.zip: 403 Forbidden\n" +
      "\tserver response: This module version is not available.\n";
    expect(describeGoFailure(out, "go env")).toBe(
      "go env failed: Go toolchain go1.99.0 could not be downloaded (403 Forbidden: This module version is not available.): " +
        "name a released Go version (see https://go.dev/dl/, e.g. 1.27.3) and check that the Go module proxy (GOPROXY) is reachable",
    );
  });

  it("always returns one line", () => {
    expect(describeGoFailure("go: something\nelse\n", WHAT)).toBe(`${WHAT} failed: something: run the same command by hand to see the whole output`);
    expect(describeGoFailure("", WHAT)).not.toContain("\n");
  });
});
