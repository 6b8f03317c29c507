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
	"unsafe"
)

// kernelSigaction is struct sigaction as the amd64/arm64 rt_sigaction syscall takes it.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

const (
	sigIGN   = 1
	sigBLOCK = 0
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

	ign := kernelSigaction{handler: sigIGN}
	for _, sig := range parseSignals(*ignore) {
		if _, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&ign)), 0, 8, 0, 0); errno != 0 {
			fail("rt_sigaction", errno)
		}
	}
	var mask uint64
	for _, sig := range parseSignals(*block) {
		mask |= 1 << (sig - 1)
	}
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigBLOCK, uintptr(unsafe.Pointer(&mask)), 0, 8, 0, 0); errno != 0 {
		fail("rt_sigprocmask", errno)
	}

	err := syscall.Exec(argv[0], argv, os.Environ())
	fail("exec "+argv[0], err)
}

func parseSignals(list string) []uintptr {
	var sigs []uintptr
	for _, s := range strings.Split(list, ",") {
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 64 {
			os.Stderr.WriteString("sigdirty: bad signal number " + s + "\n")
			os.Exit(125)
		}
		sigs = append(sigs, uintptr(n))
	}
	return sigs
}

func fail(what string, err error) {
	os.Stderr.WriteString("sigdirty: " + what + ": " + err.Error() + "\n")
	os.Exit(126)
}
