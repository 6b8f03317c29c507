// gate is every container's entrypoint. It blocks opening its FIFO for writing until the
// host's driver opens the other end (strace is attached by then), hands the next program
// a clean signal state, and execs it in place, so the PID (1 included) is kept and the
// tracer misses nothing from the program's first instruction.
//
// As PID 1 of a fresh PID namespace whose root has an empty /proc (the namespace runtime),
// the gate mounts procfs there first: Go reads /proc/self/exe, and a container without
// /proc is not what users run. Docker mounts its own.
//
// The FIFO is opened O_CLOEXEC: the kernel closes it inside execve once the new image is
// committed, so the driver reads EOF at the exact moment of the exec. If execve fails,
// the gate writes the error into the FIFO instead and exits 127.
//
// usage: gate <fifo> -- <argv...>
package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"

	"forensics/probes/internal/sigstate"
)

// The exec must come from the main thread: one from another thread makes the kernel
// swap thread IDs inside execve (tracers see the leader vanish and "superseded by
// execve"), and the mask reset below is per thread. Locked in init, the main goroutine
// never leaves it; a lock taken in main could come after a move.
func init() {
	runtime.LockOSThread()
}

func main() {
	if len(os.Args) < 4 || os.Args[2] != "--" {
		os.Stderr.WriteString("usage: gate <fifo> -- <argv...>\n")
		os.Exit(125)
	}
	fifo, argv := os.Args[1], os.Args[3:]

	if err := mountProc(); err != nil {
		fail(126, "gate: mount /proc: "+err.Error())
	}

	fd, err := syscall.Open(fifo, syscall.O_WRONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		os.Stderr.WriteString("gate: open " + fifo + ": " + err.Error() + "\n")
		os.Exit(126)
	}

	if err := resetSignals(); err != nil {
		// A program started with inherited dispositions or mask would spoil the evidence.
		msg := "gate: reset signal state: " + err.Error()
		syscall.Write(fd, []byte(msg))
		fail(126, msg)
	}
	// As the engine does for an image's entrypoint: a name without a slash is looked up
	// in the container's PATH.
	path := argv[0]
	if !strings.Contains(path, "/") {
		if found, err := exec.LookPath(path); err == nil {
			path = found
		}
	}
	err = syscall.Exec(path, argv, os.Environ())
	msg := "gate: exec " + argv[0] + ": " + err.Error()
	syscall.Write(fd, []byte(msg))
	os.Stderr.WriteString(msg + "\n")
	os.Exit(127)
}

// resetSignals undoes what the gate inherited or what its own Go runtime installed:
// execve resets caught signals to SIG_DFL but keeps ignored ones ignored and keeps the
// blocked mask, and either would change what the traced program sees.
func resetSignals() error {
	for sig := 1; sig <= 64; sig++ {
		// SIGKILL and SIGSTOP cannot be changed; 32 and 33 belong to glibc's threads and
		// the kernel accepts them, so every other number must succeed.
		if sig == int(syscall.SIGKILL) || sig == int(syscall.SIGSTOP) {
			continue
		}
		if err := sigstate.SetDisposition(sig, sigstate.Default); err != nil {
			return fmt.Errorf("signal %d: %w", sig, err)
		}
	}
	return sigstate.SetMask(0)
}

func mountProc() error {
	if os.Getpid() != 1 {
		return nil
	}
	if _, err := os.Stat("/proc/self"); err == nil {
		return nil
	}
	if st, err := os.Stat("/proc"); err != nil || !st.IsDir() {
		return nil
	}
	return syscall.Mount("proc", "/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, "")
}

func fail(code int, msg string) {
	os.Stderr.WriteString(msg + "\n")
	os.Exit(code)
}
