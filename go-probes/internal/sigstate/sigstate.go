// Package sigstate sets signal dispositions and the blocked mask with raw syscalls, for
// programs that exec right after: Go's os/signal cannot set SIG_DFL or SIG_IGN for
// signals it never handled, nor touch the mask a later execve inherits.
package sigstate

import (
	"syscall"
	"unsafe"
)

// Disposition values of struct sigaction's handler.
const (
	Default = 0 // SIG_DFL
	Ignore  = 1 // SIG_IGN
)

// kernelSigaction is struct sigaction as the amd64/arm64 rt_sigaction syscall takes it.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// SetDisposition makes sig Default or Ignore for the whole process.
func SetDisposition(sig int, disposition uintptr) error {
	act := kernelSigaction{handler: disposition}
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0); errno != 0 {
		return errno
	}
	return nil
}

// SetMask replaces the calling thread's blocked mask (bit sig-1 per signal); the caller
// must hold runtime.LockOSThread until it execs.
func SetMask(mask uint64) error {
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, 2 /* SIG_SETMASK */, uintptr(unsafe.Pointer(&mask)), 0, 8, 0, 0); errno != 0 {
		return errno
	}
	return nil
}
