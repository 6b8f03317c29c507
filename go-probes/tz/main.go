// tz is the probe of the time-zone and locale scenarios: it reports what Go's time package
// (and, in a cgo build, the C library) makes of the container's TZ, /etc/localtime,
// zoneinfo and locale files. The order of its steps matters and is fixed: Go fills
// time.Local lazily on first use (time/zoneinfo.go, localOnce), and glibc caches TZ after
// its first tzset, so every report says whether it came before or after those instants.
//
// Events: start (with the TZ it then sees), mount (-bind), path (-stat), local (first use of time.Local, and again
// after -setenv-tz), load (one per -zones entry), libc (cgo builds: initial, after-setenv,
// after-tzset), setlocale (-setlocale, cgo builds), exit.
package main

import (
	"errors"
	"flag"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"

	"forensics/probes/internal/report"
)

func main() {
	zones := flag.String("zones", "", "comma-separated names to pass to time.LoadLocation")
	bind := flag.String("bind", "", "SRC:DST: bind-mount SRC read-only onto DST before anything else (as systemd or a runtime would)")
	stat := flag.String("stat", "", "comma-separated paths whose type and link target to report")
	setenvTZ := flag.String("setenv-tz", "", "after the first reports, os.Setenv(\"TZ\", this) and report Go's and libc's zone again")
	early := flag.String("tz-early", "", "os.Setenv(\"TZ\", this) first thing, before Go or libc look at the zone (a Dockerfile whose ENV comes late is this, seen from inside)")
	hold := flag.Duration("hold", 0, "sleep this long before the first use of time.Local (time for a debugger to attach); checkpoints are marked either side of it")
	doSetlocale := flag.Bool("setlocale", false, "call setlocale(LC_ALL, \"\") (cgo builds only) and report its result")
	flag.Parse()

	if *early != "" {
		os.Setenv("TZ", *early)
	}
	tz, tzSet := os.LookupEnv("TZ")
	report.Emit("start", map[string]any{
		"pid": os.Getpid(), "go": runtime.Version(), "libc": libcName(), "tzdataEmbedded": tzdataEmbedded,
		"tz": envValue(tz, tzSet), "zoneinfo": envOrNil("ZONEINFO"), "lang": envOrNil("LANG"), "lcAll": envOrNil("LC_ALL"),
	})

	if *bind != "" {
		src, dst, _ := strings.Cut(*bind, ":")
		err := syscall.Mount(src, dst, "", syscall.MS_BIND|syscall.MS_RDONLY, "")
		report.Emit("mount", map[string]any{"src": src, "dst": dst, "error": errText(err)})
	}
	for _, p := range split(*stat) {
		report.Emit("path", describePath(p))
	}

	if *hold > 0 {
		time.Sleep(*hold)
	}
	// The first use of time.Local: initLocal runs here and only here.
	checkpoint("before-first-use")
	reportLocal("first-use")
	checkpoint("after-first-use")
	for _, z := range split(*zones) {
		loc, err := time.LoadLocation(z)
		fields := map[string]any{"zone": z, "error": errText(err)}
		if err == nil {
			name, off := time.Now().In(loc).Zone()
			fields["name"], fields["abbrev"], fields["offsetS"] = loc.String(), name, off
		}
		report.Emit("load", fields)
	}

	libcReport("initial")
	if *setenvTZ != "" {
		// With cgo, os.Setenv also calls C setenv (runtime/env_posix.go, _cgo_setenv), so
		// libc sees the new TZ; whether it re-reads it is what the libc events show.
		os.Setenv("TZ", *setenvTZ)
		reportLocal("after-setenv")
		libcReport("after-setenv")
		libcTzset()
		libcReport("after-tzset")
	}
	if *doSetlocale {
		setlocaleReport()
	}
	report.Emit("exit", map[string]any{"code": 0})
}

// checkpoint is where a debugger stops (break main.checkpoint) to read time.localLoc; it
// must stay a real call, so it is never inlined.
//
//go:noinline
func checkpoint(name string) {
	report.Emit("checkpoint", map[string]any{"name": name})
}

func reportLocal(phase string) {
	abbrev, off := time.Now().In(time.Local).Zone()
	report.Emit("local", map[string]any{"phase": phase, "name": time.Local.String(), "abbrev": abbrev, "offsetS": off})
}

func describePath(p string) map[string]any {
	out := map[string]any{"path": p}
	fi, err := os.Lstat(p)
	if err != nil {
		out["error"] = errText(err)
		return out
	}
	out["type"] = fileType(fi.Mode())
	if fi.Mode()&os.ModeSymlink != 0 {
		out["link"], _ = os.Readlink(p)
		if target, err := os.Stat(p); err != nil {
			out["targetError"] = errText(err)
		} else {
			out["targetType"] = fileType(target.Mode())
		}
	}
	return out
}

func fileType(m os.FileMode) string {
	switch {
	case m&os.ModeSymlink != 0:
		return "symlink"
	case m.IsDir():
		return "directory"
	case m.IsRegular():
		return "file"
	}
	return m.Type().String()
}

// errText keeps the errno name where there is one (ENOENT, EPERM), which is what the
// scenarios compare with strace.
func errText(err error) any {
	if err == nil {
		return nil
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return err.Error() + " (" + errnoName(errno) + ")"
	}
	return err.Error()
}

func errnoName(e syscall.Errno) string {
	names := map[syscall.Errno]string{syscall.ENOENT: "ENOENT", syscall.EPERM: "EPERM", syscall.EACCES: "EACCES", syscall.EISDIR: "EISDIR", syscall.ENOTDIR: "ENOTDIR", syscall.EINVAL: "EINVAL"}
	if n, ok := names[e]; ok {
		return n
	}
	return "errno " + e.Error()
}

func envValue(v string, set bool) any {
	if !set {
		return nil
	}
	return v
}

func envOrNil(name string) any {
	v, ok := os.LookupEnv(name)
	return envValue(v, ok)
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
