// sigreader stands in for a user's own Go program in tests of signal-backlog with
// --binary and --image: it prints nothing of the probe protocol, subscribes to SIGTERM and
// SIGUSR1 with signal.Notify on a channel of capacity -cap after -delay, and reads it for
// ever, so every signal that reaches the channel is taken; it never exits by itself.
package main

import (
	"flag"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	capacity := flag.Int("cap", 1, "capacity of the Notify channel")
	delay := flag.Duration("delay", 10*time.Millisecond, "start-up time before Notify")
	flag.Parse()
	time.Sleep(*delay)
	c := make(chan os.Signal, *capacity)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGUSR1)
	for range c {
	}
}
