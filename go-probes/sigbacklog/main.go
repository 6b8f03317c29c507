// sigbacklog is the probe of the signal-backlog scenario (claims S3, S4, S8): it subscribes
// to SIGUSR1 and SIGTERM with signal.Notify on one channel of a given capacity and reads it
// fast, slowly or not at all, counting what it takes. SIGUSR2 (its own channel, always
// read) asks it to report its counts and exit, so the harness decides when a trial ends.
package main

import (
	"flag"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"forensics/probes/internal/report"
)

func main() {
	capacity := flag.Int("cap", 1, "capacity of the Notify channel")
	reader := flag.String("reader", "fast", "fast: always waiting in <-c; slow: one receive per -slow; none: never reads")
	slow := flag.Duration("slow", 5*time.Millisecond, "pause after each receive of the slow reader")
	receiveDelay := flag.Duration("receive-delay", 0, "wait this long after Notify before the first receive (widens the seed's window)")
	flag.Parse()

	report.Emit("start", map[string]any{"pid": os.Getpid(), "go": runtime.Version(), "cap": *capacity, "reader": *reader})

	done := make(chan os.Signal, 1)
	signal.Notify(done, syscall.SIGUSR2)

	c := make(chan os.Signal, *capacity)
	signal.Notify(c, syscall.SIGUSR1, syscall.SIGTERM)
	// Right after Notify returned: from here on the runtime catches both signals and
	// os/signal's loop offers each to c (signal.go process: select { case c <- sig: default: }).
	report.Emit("notify", map[string]any{"signals": []string{"SIGUSR1", "SIGTERM"}})

	var mu sync.Mutex
	received := map[string]int{}
	ready := make(chan struct{})
	if *reader != "none" {
		time.Sleep(*receiveDelay)
		go func() {
			first := true
			for {
				if first {
					// The first instant a receive can take a signal: the end of the seed's "race window".
					report.Emit("receiving", nil)
					first = false
					close(ready)
				}
				s := <-c
				mu.Lock()
				received[name(s)]++
				mu.Unlock()
				if *reader == "slow" {
					time.Sleep(*slow)
				}
			}
		}()
		<-ready
	}
	report.Emit("ready", nil)

	<-done
	mu.Lock()
	counts := map[string]any{"SIGUSR1": received["SIGUSR1"], "SIGTERM": received["SIGTERM"]}
	mu.Unlock()
	// What os/signal delivered and nobody took yet: still in the channel's buffer.
	report.Emit("counts", map[string]any{"received": counts, "buffered": len(c)})
	report.Emit("exit", map[string]any{"code": 0})
	os.Exit(0)
}

func name(s os.Signal) string {
	switch s {
	case syscall.SIGUSR1:
		return "SIGUSR1"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}
