// httpstop is the probe of the docker-stop-timeout scenario (claim S5): an HTTP server
// whose /slow handler takes -handler (or ?ms=N) to answer; on SIGTERM it calls Shutdown, which waits
// for that in-flight request, so its graceful shutdown takes as long as the request has
// left. It reports listening (with its port and addresses), request-begin/-end,
// shutdown-begin/-end and exit.
package main

import (
	"context"
	"flag"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"forensics/probes/internal/report"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (port 0: any free port)")
	handler := flag.Duration("handler", 1500*time.Millisecond, "how long /slow takes to answer")
	shutdownTimeout := flag.Duration("shutdown-timeout", time.Minute, "the context deadline given to Shutdown")
	flag.Parse()

	report.Emit("start", map[string]any{"pid": os.Getpid(), "go": runtime.Version()})
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	report.Emit("notify", map[string]any{"signals": []string{"SIGTERM"}})

	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		d := *handler
		if ms, err := strconv.Atoi(r.URL.Query().Get("ms")); err == nil && ms > 0 {
			d = time.Duration(ms) * time.Millisecond
		}
		report.Emit("request-begin", map[string]any{"path": r.URL.Path, "ms": d.Milliseconds()})
		time.Sleep(d)
		w.Write([]byte("done\n"))
		report.Emit("request-end", nil)
	})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		report.Emit("error", map[string]any{"error": err.Error()})
		os.Exit(1)
	}
	var addrs []string
	if ifs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range ifs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
				addrs = append(addrs, n.IP.String())
			}
		}
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	report.Emit("listening", map[string]any{"addr": ln.Addr().String(), "port": ln.Addr().(*net.TCPAddr).Port, "addrs": addrs})

	sig := <-c
	report.Emit("signal", map[string]any{"name": sig.String()})
	report.Emit("shutdown-begin", nil)
	ctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(ctx)
	fields := map[string]any{}
	if err != nil {
		fields["error"] = err.Error()
	}
	report.Emit("shutdown-end", fields)
	report.Emit("exit", map[string]any{"code": 0})
	os.Exit(0)
}
