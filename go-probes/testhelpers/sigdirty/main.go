// sigdirty execs a command with a dirty signal state: the signals named by -block blocked
// and those named by -ignore set to SIG_IGN. execve keeps both, so this is how a shell, an
// init or a supervisor can hand junk to the gate; the gate's tests start it through this.
//
// usage: sigdirty -block 1,10,15 -ignore 1,2,15 -- <argv...>
package main

import (
	"flag"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"forensics/probes/internal/sigstate"
)

func main() {
	block := flag.String("block", "", "comma-separated signal numbers to block")
	ignore := flag.String("ignore", "", "comma-separated signal numbers to ignore")
	flag.Parse()
	argv := flag.Args()
	if len(argv) == 0 {
		os.Stderr.WriteString("usage: sigdirty -block N,… -ignore N,… -- <argv...>\n")
		os.Exit(125)
	}

	// The blocked mask is per thread; exec must happen on the thread that set it.
	runtime.LockOSThread()

	for _, sig := range parseSignals(*ignore) {
		if err := sigstate.SetDisposition(sig, sigstate.Ignore); err != nil {
			fail("rt_sigaction", err)
		}
	}
	var mask uint64
	for _, sig := range parseSignals(*block) {
		mask |= 1 << uint(sig-1)
	}
	// Exactly these blocked, as a supervisor that masks signals around its fork+exec leaves them.
	if err := sigstate.SetMask(mask); err != nil {
		fail("rt_sigprocmask", err)
	}

	err := syscall.Exec(argv[0], argv, os.Environ())
	fail("exec "+argv[0], err)
}

func parseSignals(list string) []int {
	var sigs []int
	for _, s := range strings.Split(list, ",") {
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 64 {
			os.Stderr.WriteString("sigdirty: bad signal number " + s + "\n")
			os.Exit(125)
		}
		sigs = append(sigs, n)
	}
	return sigs
}

func fail(what string, err error) {
	os.Stderr.WriteString("sigdirty: " + what + ": " + err.Error() + "\n")
	os.Exit(126)
}
