// signotify is the probe gdb reads the runtime's signal state from (claims S3, S4, S6):
// it subscribes to SIGUSR1 and SIGTERM with signal.Notify on a channel it never reads,
// keeps several threads busy or parked, and waits. A second signal therefore stays in the
// runtime's queue (sig.mask) or is dropped by os/signal on the full channel, and there are
// threads on which to compare $rsp with the g0, gsignal and goroutine stacks.
package main

import (
	"flag"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"forensics/probes/internal/report"
)

func main() {
	workers := flag.Int("workers", 3, "goroutines locked to their own OS thread, each sleeping in a syscall")
	wait := flag.Duration("wait", 10*time.Minute, "exit after this long")
	flag.Parse()

	report.Emit("start", map[string]any{"pid": os.Getpid(), "ppid": os.Getppid(), "go": runtime.Version()})

	// Capacity 1 and never read: the first signal fills it, later ones are dropped by
	// os/signal's non-blocking send (signal.go process: select { case c <- sig: default: }).
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1, syscall.SIGTERM)
	report.Emit("notify", map[string]any{"signals": []string{"SIGUSR1", "SIGTERM"}})

	for i := 0; i < *workers; i++ {
		go func() {
			// LockOSThread keeps one M per worker, so the process has that many more threads.
			runtime.LockOSThread()
			for {
				syscall.Nanosleep(&syscall.Timespec{Sec: 1}, nil)
			}
		}()
	}
	report.Emit("ready", map[string]any{"workers": *workers})
	time.Sleep(*wait)
	report.Emit("exit", map[string]any{"code": 0})
}
