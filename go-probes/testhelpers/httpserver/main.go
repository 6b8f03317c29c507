// httpserver stands in for a user's own Go HTTP server in tests of docker-stop-timeout
// with --binary and --image: it prints nothing of the probe protocol. /slow answers after
// -slow, / at once. With -graceful it subscribes to SIGTERM with signal.Notify and calls
// Shutdown, which waits for requests in flight, then exits 0; without it SIGTERM meets
// Go's default action.
package main

import (
	"context"
	"flag"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", ":8080", "address to listen on")
	slow := flag.Duration("slow", 2*time.Second, "how long /slow takes to answer")
	graceful := flag.Bool("graceful", false, "on SIGTERM, Shutdown (waiting for requests in flight) and exit 0")
	flag.Parse()

	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(*slow)
		w.Write([]byte("slow\n"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	srv := &http.Server{Addr: *listen, Handler: mux}
	if !*graceful {
		if err := srv.ListenAndServe(); err != nil {
			os.Exit(1)
		}
		return
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	go srv.ListenAndServe()
	<-c
	srv.Shutdown(context.Background())
	os.Exit(0)
}
