// clockmark maps a tracefs instance's trace clock to CLOCK_REALTIME: it reads
// CLOCK_REALTIME and writes `forensics-clock realtime_ns=<N>` into each trace_marker
// file it is given, in one write(2) per file. tracefs stamps the marker with its own
// clock at that write, so the capture then holds both readings of one instant and
// needs nothing outside itself to put its events on the realtime clock.
//
// The files are opened first and the clock is read right before each write: what lies
// between the two readings is one syscall entry (about a microsecond).
//
// usage: clockmark <trace_marker>...
package main

import (
	"os"
	"strconv"
	"syscall"
	"time"
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
	buf := make([]byte, 0, 64)
	for i, fd := range fds {
		buf = append(buf[:0], "forensics-clock realtime_ns="...)
		buf = strconv.AppendInt(buf, time.Now().UnixNano(), 10)
		if _, err := syscall.Write(fd, buf); err != nil {
			os.Stderr.WriteString("clockmark: write " + os.Args[i+1] + ": " + err.Error() + "\n")
			os.Exit(1)
		}
	}
}
