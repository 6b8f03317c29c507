// nsrun is the namespace runtime's launcher: it starts argv as PID 1 of a new PID and
// mount namespace, chrooted into a trial's root, and reports the host PID and the real
// wait status on fd 3 as JSON lines:
//
//	{"pid": <host pid of the new PID 1>}
//	{"exit": <code> | null, "signal": "<SIGNAME>" | null, "coreDumped": <bool>}
//	{"error": "<why nothing was started>"}   (instead of both, exit status 125)
//
// It replaces util-linux `unshare --pid --fork`, which was measured to fail both jobs the
// harness needs: when its child is killed by SIGKILL it prints "unshare: sigprocmask
// unblock failed: Invalid argument" and exits 1 instead of reporting the signal, and when
// its parent (the harness) dies it keeps the namespace alive.
//
// usage: nsrun -root DIR -- <argv...>   (fd 3 must be open for writing)
package main

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
)

const reportFd = 3

func main() {
	root := flag.String("root", "", "directory that becomes / of the new namespaces")
	flag.Parse()
	argv := flag.Args()
	if *root == "" || len(argv) == 0 {
		os.Stderr.WriteString("usage: nsrun -root DIR -- <argv...>\n")
		os.Exit(125)
	}

	// The report pipe was inherited without O_CLOEXEC; without this, PID 1 would inherit
	// it too, could write into it, and would keep it open after nsrun is gone.
	syscall.CloseOnExec(reportFd)
	report := os.NewFile(reportFd, "report")

	// Pdeathsig fires when the *thread* that forked the child exits, not the process
	// (prctl(2)), and nsrun's own PR_SET_PDEATHSIG is a per-thread setting too: keep
	// main on one thread that lives as long as nsrun does.
	runtime.LockOSThread()

	dieWithParent()

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	// Go chdirs after the chroot only when Dir is set; without it PID 1 would keep the
	// harness's working directory, outside its root (strace: AT_FDCWD</work/…>).
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS,
		// Listing CLONE_NEWNS here as well makes Go remount / MS_REC|MS_PRIVATE in the
		// child (syscall/exec_linux.go), so nothing done inside propagates to the host.
		Unshareflags: syscall.CLONE_NEWNS,
		Chroot:       *root,
		// When nsrun dies, PID 1 gets SIGKILL, and the kernel then kills every other
		// process of its PID namespace: no trial outlives its launcher.
		Pdeathsig: syscall.SIGKILL,
		Setpgid:   true,
	}
	if err := cmd.Start(); err != nil {
		emit(report, map[string]any{"error": err.Error()})
		os.Stderr.WriteString("nsrun: " + err.Error() + "\n")
		os.Exit(125)
	}
	emit(report, map[string]any{"pid": cmd.Process.Pid})

	_ = cmd.Wait()
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	status := map[string]any{"exit": nil, "signal": nil, "coreDumped": ws.CoreDump()}
	if ws.Signaled() {
		status["signal"] = signalName(ws.Signal())
	} else {
		status["exit"] = ws.ExitStatus()
	}
	emit(report, status)
}

// dieWithParent makes the kernel SIGKILL nsrun when the harness dies. The harness passes
// its PID as FORENSICS_OWNER; if getppid differs after the prctl, the harness died before
// the prctl took effect and nobody would ever send that signal.
func dieWithParent() {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0); errno != 0 {
		os.Stderr.WriteString("nsrun: prctl(PR_SET_PDEATHSIG): " + errno.Error() + "\n")
		os.Exit(125)
	}
	if owner, err := strconv.Atoi(os.Getenv("FORENSICS_OWNER")); err == nil && owner != os.Getppid() {
		os.Stderr.WriteString("nsrun: the harness (pid " + strconv.Itoa(owner) + ") is gone\n")
		os.Exit(125)
	}
}

func emit(f *os.File, v map[string]any) {
	line, _ := json.Marshal(v)
	f.Write(append(line, '\n'))
}

// signalName gives the SIGxxx name; Go's Signal.String says "terminated", not "SIGTERM".
func signalName(s syscall.Signal) string {
	names := map[syscall.Signal]string{
		syscall.SIGHUP: "SIGHUP", syscall.SIGINT: "SIGINT", syscall.SIGQUIT: "SIGQUIT",
		syscall.SIGILL: "SIGILL", syscall.SIGTRAP: "SIGTRAP", syscall.SIGABRT: "SIGABRT",
		syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE", syscall.SIGKILL: "SIGKILL",
		syscall.SIGUSR1: "SIGUSR1", syscall.SIGSEGV: "SIGSEGV", syscall.SIGUSR2: "SIGUSR2",
		syscall.SIGPIPE: "SIGPIPE", syscall.SIGALRM: "SIGALRM", syscall.SIGTERM: "SIGTERM",
		syscall.SIGSTKFLT: "SIGSTKFLT", syscall.SIGCHLD: "SIGCHLD", syscall.SIGCONT: "SIGCONT",
		syscall.SIGSTOP: "SIGSTOP", syscall.SIGTSTP: "SIGTSTP", syscall.SIGTTIN: "SIGTTIN",
		syscall.SIGTTOU: "SIGTTOU", syscall.SIGURG: "SIGURG", syscall.SIGXCPU: "SIGXCPU",
		syscall.SIGXFSZ: "SIGXFSZ", syscall.SIGVTALRM: "SIGVTALRM", syscall.SIGPROF: "SIGPROF",
		syscall.SIGWINCH: "SIGWINCH", syscall.SIGIO: "SIGIO", syscall.SIGPWR: "SIGPWR",
		syscall.SIGSYS: "SIGSYS",
	}
	if name, ok := names[s]; ok {
		return name
	}
	// Real-time signals have no fixed names; this is how strace prints them.
	return "SIGRT_" + strconv.Itoa(int(s)-32)
}
