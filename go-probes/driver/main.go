// driver runs on the host and drives one trial's fault with microsecond timing, which
// Node timers cannot: it opens the gate's FIFO (releasing the gate), reads EOF at the
// moment the gate's execve commits, busy-waits to each planned send while sampling whether
// the probe's Go runtime has installed a handler for the first signal (SigCgt in
// /proc/PID/status), sends none, one, a burst or a steady rate of signals, and prints one
// JSON line with every instant it measured (CLOCK_REALTIME ns).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// send is one planned signal group: count signals of sig, the first atUs after the exec,
// the next ones intervalUs apart (a burst when 0, a rate otherwise).
type send struct {
	Sig        int   `json:"sig"`
	AtUs       int64 `json:"atUs"`
	Count      int   `json:"count"`
	IntervalUs int64 `json:"intervalUs"`
}

// sent is what happened to each signal of a send: when the kill(2) started and returned.
type sent struct {
	Sig    int    `json:"sig"`
	SendNs int64  `json:"sendNs,string"`
	SentNs int64  `json:"sentNs,string"`
	Error  string `json:"error,omitempty"`
}

// sendList is the repeatable -send flag: SIG@US, SIG@USxCOUNT or SIG@USxCOUNT/INTERVAL_US.
type sendList []send

func (l *sendList) String() string { return fmt.Sprint(*l) }

func (l *sendList) Set(v string) error {
	var s send
	s.Count = 1
	head, interval, hasInterval := strings.Cut(v, "/")
	head, count, hasCount := strings.Cut(head, "x")
	sig, at, ok := strings.Cut(head, "@")
	if !ok {
		return fmt.Errorf("want SIG@US[xCOUNT[/INTERVAL_US]], got %q", v)
	}
	var err error
	if s.Sig, err = strconv.Atoi(sig); err != nil || s.Sig < 1 || s.Sig > 64 {
		return fmt.Errorf("bad signal number in %q", v)
	}
	if s.AtUs, err = strconv.ParseInt(at, 10, 64); err != nil || s.AtUs < 0 {
		return fmt.Errorf("bad offset in %q", v)
	}
	if hasCount {
		if s.Count, err = strconv.Atoi(count); err != nil || s.Count < 1 {
			return fmt.Errorf("bad count in %q", v)
		}
	}
	if hasInterval {
		if s.IntervalUs, err = strconv.ParseInt(interval, 10, 64); err != nil || s.IntervalUs < 0 {
			return fmt.Errorf("bad interval in %q", v)
		}
	}
	*l = append(*l, s)
	return nil
}

type result struct {
	ReleaseNs     int64  `json:"releaseNs,string"`
	ExecNs        int64  `json:"execNs,string"`
	SendNs        int64  `json:"sendNs,string,omitempty"`
	SentNs        int64  `json:"sentNs,string,omitempty"`
	Signal        int    `json:"signal,omitempty"`
	KillPid       int    `json:"killPid"`
	ProbePid      int    `json:"probePid,omitempty"`
	HandlerSeenNs int64  `json:"handlerSeenNs,string,omitempty"`
	LastSampleNs  int64  `json:"lastSampleNs,string,omitempty"`
	Samples       int    `json:"samples"`
	Sends         []sent `json:"sends,omitempty"`
	Realtime      bool   `json:"realtime"`
	KillError     string `json:"killError,omitempty"`
	Error         string `json:"error,omitempty"`
}

func main() {
	fifo := flag.String("fifo", "", "the gate's FIFO (host path)")
	killPid := flag.Int("kill-pid", 0, "host PID that receives the signal (the container's PID 1)")
	probePid := flag.Int("probe-pid", 0, "host PID of the Go probe, when known before release")
	probeChildOf := flag.Int("probe-child-of", 0, "the probe is the first child of this host PID (under an init)")
	probeName := flag.String("probe-name", "", "count SigCgt only once the watched process runs this program (its comm); a forked init child carries the init's handlers")
	sig := flag.Int("signal", int(syscall.SIGTERM), "signal number of the single send -offset-us asks for")
	offsetUs := flag.Int64("offset-us", -1, "shorthand for -send SIGNAL@US; negative: do not send")
	var plan sendList
	flag.Var(&plan, "send", "SIG@US[xCOUNT[/INTERVAL_US]]: send COUNT signals from US µs after the exec, INTERVAL_US apart (repeatable)")
	openTimeout := flag.Duration("open-timeout", 10*time.Second, "give up if the gate does not open its FIFO")
	flag.Parse()

	res := result{KillPid: *killPid}
	// The EOF read, the waits and the sends all run on this thread; at a real-time priority
	// it wakes the moment the exec closes the FIFO instead of when a busy machine gets to
	// it (measured: up to 14 ms late on a loaded 2-core host otherwise).
	runtime.LockOSThread()
	res.Realtime = setRealtime() == nil
	fail := func(format string, a ...any) {
		res.Error = fmt.Sprintf(format, a...)
		print(res)
		os.Exit(3)
	}
	if *fifo == "" || *killPid <= 0 {
		fail("usage: driver -fifo PATH -kill-pid PID [-probe-pid PID | -probe-child-of PID] [-offset-us N]")
	}

	// Raw blocking syscalls, not os.File: Go's netpoller would add a scheduler hop (tens
	// of µs to ms on a loaded 2-core machine) between the kernel's EOF and our clock read.
	opened := make(chan int, 1)
	openErr := make(chan error, 1)
	go func() {
		fd, err := syscall.Open(*fifo, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			openErr <- err
			return
		}
		opened <- fd
	}()
	var fd int
	select {
	case fd = <-opened:
	case err := <-openErr:
		fail("open gate fifo: %v", err)
	case <-time.After(*openTimeout):
		fail("the gate did not open %s within %s: the container's entrypoint died or never started", *fifo, *openTimeout)
	}
	res.ReleaseNs = time.Now().UnixNano()

	// The gate holds the write end O_CLOEXEC: EOF means its execve committed; bytes mean
	// the exec failed and the gate is explaining why.
	var msg bytes.Buffer
	buf := make([]byte, 512)
	for {
		n, err := syscall.Read(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if n <= 0 || err != nil {
			break
		}
		msg.Write(buf[:n])
	}
	res.ExecNs = time.Now().UnixNano()
	syscall.Close(fd)
	if msg.Len() > 0 {
		fail("%s", strings.TrimSpace(msg.String()))
	}

	if *offsetUs >= 0 {
		plan = append(sendList{{Sig: *sig, AtUs: *offsetUs, Count: 1}}, plan...)
	}
	if len(plan) > 0 {
		watched := *probePid
		var status *statusFile
		if watched > 0 {
			status = openStatus(watched)
		}
		watchSig := plan[0].Sig
		// Until the handler is seen, sample back to back and send right after a sample: the
		// send may come one /proc read (tens of µs) late, but the probe's state at the send
		// is then known to within a syscall, which is what classifies the trial's phase.
		// The loop samples before it looks at the clock, so even an offset of 0 is sent with
		// a fresh sample: our wake-up after the exec can lag the probe's own start.
		waitUntil := func(target int64) {
			for {
				if res.HandlerSeenNs == 0 {
					if watched == 0 && *probeChildOf > 0 {
						if watched = firstChild(*probeChildOf); watched > 0 {
							status = openStatus(watched)
						}
					}
					if status != nil {
						caught, ok := status.catches(watchSig, *probeName)
						at := time.Now().UnixNano()
						if ok {
							res.Samples++
							res.LastSampleNs = at
							if caught {
								res.HandlerSeenNs = at
							}
						}
					}
				}
				now := time.Now().UnixNano()
				if now >= target {
					return
				}
				if rest := time.Duration(target - now); (res.HandlerSeenNs != 0 || (status == nil && *probeChildOf == 0)) && rest > 3*time.Millisecond {
					// Nothing left to sample, so stop burning a core.
					time.Sleep(rest - 2*time.Millisecond)
				}
			}
		}
		for _, p := range plan {
			for i := 0; i < p.Count; i++ {
				waitUntil(res.ExecNs + (p.AtUs+int64(i)*p.IntervalUs)*1000)
				s := sent{Sig: p.Sig, SendNs: time.Now().UnixNano()}
				err := syscall.Kill(*killPid, syscall.Signal(p.Sig))
				s.SentNs = time.Now().UnixNano()
				if err != nil {
					s.Error = err.Error()
				}
				res.Sends = append(res.Sends, s)
			}
		}
		first := res.Sends[0]
		res.ProbePid = watched
		res.Signal = first.Sig
		res.SendNs, res.SentNs, res.KillError = first.SendNs, first.SentNs, first.Error
	}
	print(res)
}

// setRealtime puts the calling thread in SCHED_FIFO at a low real-time priority (root
// only; without it the driver runs as before). Its spins are bounded by the send plan and
// the kernel's real-time throttling keeps a share of each core for everyone else.
func setRealtime() error {
	param := struct{ priority int32 }{priority: 10}
	if _, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, 0, 1 /* SCHED_FIFO */, uintptr(unsafe.Pointer(&param))); errno != 0 {
		return errno
	}
	return nil
}

// statusFile is /proc/PID/status kept open: one pread per sample instead of
// open+read+close, so a sample costs a few µs and the send right after it is on time. The
// open file follows the PID across its execve, which is when it becomes the probe.
type statusFile struct {
	fd  int
	buf []byte
}

func openStatus(pid int) *statusFile {
	fd, err := syscall.Open("/proc/"+strconv.Itoa(pid)+"/status", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	return &statusFile{fd: fd, buf: make([]byte, 4096)}
}

// catches reports whether the process has a handler for sig (its SigCgt bit); ok is false
// when the status could not be read (the process is gone) or the process does not run the
// named program yet (dumb-init's forked child, before its exec, still has dumb-init's
// do-nothing handler for every signal).
func (f *statusFile) catches(sig int, name string) (caught, ok bool) {
	n, err := syscall.Pread(f.fd, f.buf, 0)
	if err != nil || n <= 0 {
		return false, false
	}
	data := f.buf[:n]
	if name != "" && !bytes.HasPrefix(data, []byte("Name:\t"+name+"\n")) {
		return false, false
	}
	i := bytes.Index(data, []byte("SigCgt:\t"))
	if i < 0 {
		return false, false
	}
	hex := data[i+8:]
	if j := bytes.IndexByte(hex, '\n'); j >= 0 {
		hex = hex[:j]
	}
	mask, err := strconv.ParseUint(string(hex), 16, 64)
	if err != nil {
		return false, false
	}
	return mask&(1<<(sig-1)) != 0, true
}

func firstChild(pid int) int {
	p := strconv.Itoa(pid)
	data, err := os.ReadFile("/proc/" + p + "/task/" + p + "/children")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return 0
	}
	child, _ := strconv.Atoi(fields[0])
	return child
}

func print(r result) {
	line, _ := json.Marshal(r)
	os.Stdout.Write(append(line, '\n'))
}
