// clockmark maps a tracefs instance's trace clock (mono) to CLOCK_REALTIME: it reads
// CLOCK_MONOTONIC, CLOCK_REALTIME and CLOCK_MONOTONIC again, back to back, and writes
// `forensics-clock realtime_ns=<R> mono_ns=<M>` into each trace_marker file it is given,
// in one write(2) per file, where M is the midpoint of the two monotonic readings. The
// capture then holds a pair of readings of one instant on both clocks and needs nothing
// outside itself to put its events on the realtime clock.
//
// The pair, not the marker's own stamp, is what maps: the stamp comes at the write, and
// a preemption between the clock read and the write (measured: up to 33 µs on an idle
// 2-core VM, milliseconds under load) would shift each file by its own error, so that
// two instances of one trial (the tree and the signals) disagree about which of their
// events came first. One pair written to every file gives them one mapping. The pair is
// the tightest of a few tries: a bracket wider than a few µs means we were interrupted.
//
// usage: clockmark <trace_marker>...
package main

import (
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

const (
	clockRealtime  = 0
	clockMonotonic = 1
	tries          = 16
)

func main() {
	if len(os.Args) < 2 {
		os.Stderr.WriteString("usage: clockmark <trace_marker>...\n")
		os.Exit(2)
	}
	fds := make([]int, 0, len(os.Args)-1)
	for _, path := range os.Args[1:] {
		fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			os.Stderr.WriteString("clockmark: open " + path + ": " + err.Error() + "\n")
			os.Exit(1)
		}
		fds = append(fds, fd)
	}
	realNs, monoNs := readPair()
	buf := []byte("forensics-clock realtime_ns=")
	buf = strconv.AppendInt(buf, realNs, 10)
	buf = append(buf, " mono_ns="...)
	buf = strconv.AppendInt(buf, monoNs, 10)
	for i, fd := range fds {
		if _, err := syscall.Write(fd, buf); err != nil {
			os.Stderr.WriteString("clockmark: write " + os.Args[i+1] + ": " + err.Error() + "\n")
			os.Exit(1)
		}
	}
}

// readPair returns CLOCK_REALTIME and the CLOCK_MONOTONIC instant it was read at, from
// the try whose two monotonic readings lie closest together.
func readPair() (realNs, monoNs int64) {
	best := int64(-1)
	for i := 0; i < tries; i++ {
		before := clock(clockMonotonic)
		real := clock(clockRealtime)
		after := clock(clockMonotonic)
		if width := after - before; best < 0 || width < best {
			best, realNs, monoNs = width, real, before+width/2
		}
	}
	return realNs, monoNs
}

// clock is clock_gettime(2) as a raw syscall: Go exposes no absolute monotonic reading,
// and the few hundred ns a syscall costs are inside the bracket readPair measures.
func clock(id int) int64 {
	var ts syscall.Timespec
	if _, _, errno := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, uintptr(id), uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		os.Stderr.WriteString("clockmark: clock_gettime: " + errno.Error() + "\n")
		os.Exit(1)
	}
	return ts.Nano()
}
