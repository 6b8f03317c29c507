// sigterm is the probe for the sigterm-race scenario: a Go program that waits before
// calling signal.Notify (so the window between its runtime's handler and Notify is wide
// enough to hit on purpose), then shuts down gracefully on SIGTERM.
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
	notifyDelay := flag.Duration("notify-delay", 200*time.Millisecond, "wait this long before signal.Notify")
	shutdown := flag.Duration("shutdown", 20*time.Millisecond, "graceful shutdown takes this long")
	flag.Parse()

	report.Emit("start", map[string]any{"pid": os.Getpid(), "ppid": os.Getppid(), "go": runtime.Version()})
	time.Sleep(*notifyDelay)

	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	report.Emit("notify", map[string]any{"signals": []string{"SIGTERM"}})

	sig := <-c
	report.Emit("signal", map[string]any{"name": signalName(sig)})
	report.Emit("shutdown-begin", nil)
	time.Sleep(*shutdown)
	report.Emit("shutdown-end", nil)
	report.Emit("exit", map[string]any{"code": 0})
	os.Exit(0)
}

func signalName(s os.Signal) string {
	if s == syscall.SIGTERM {
		return "SIGTERM"
	}
	return s.String()
}
