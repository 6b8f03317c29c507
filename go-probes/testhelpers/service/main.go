// service stands in for a user's own Go program in tests of --binary and --image: it
// prints nothing of the probe protocol, optionally subscribes to SIGTERM with
// signal.Notify after a delay (a server finishing its start-up), exits 0 when it gets it,
// and otherwise just runs.
package main

import (
	"flag"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	notify := flag.Bool("notify", false, "subscribe to SIGTERM with signal.Notify and exit 0 on it")
	delay := flag.Duration("delay", 100*time.Millisecond, "start-up time before Notify")
	flag.Parse()
	time.Sleep(*delay)
	if *notify {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		<-c
		os.Exit(0)
	}
	for {
		time.Sleep(time.Hour)
	}
}
