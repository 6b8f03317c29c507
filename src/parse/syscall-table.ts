// Which printed argument of a syscall plays which role, in the spirit of gVisor's strace
// table (makeSyscallInfo("openat", FD, Path, OpenFlags, Mode)): knowledge lives here as data
// so the parser, the summary and the TUI agree on it. Indexes are 0-based positions in
// SyscallRecord.args, i.e. in the order strace (x86_64) prints them.

export type ArgRole =
  /** A pathname string ("..."), possibly relative to `dirfd`. */
  | "path"
  /** A second pathname (rename/link/symlink/mount target). */
  | "path2"
  /** A directory fd that a relative `path` is resolved against (AT_FDCWD or an fd). */
  | "dirfd"
  /** A file descriptor; with -y strace decorates it as `3</etc/passwd>`. */
  | "fd"
  /** A bit set printed as FLAG_A|FLAG_B (open, mount, clone, AT_* flags, …). */
  | "flags"
  /** A permission mode (0644) or access mode (R_OK). */
  | "mode"
  /** A signal number printed as SIGTERM. */
  | "signal"
  /** A process or thread id. */
  | "pid"
  /** A socket address structure ({sa_family=AF_UNIX, sun_path="…"}). */
  | "sockaddr"
  /** A signal set, printed as [TERM INT] or ~[]. */
  | "sigset"
  /** An exit status. */
  | "status";

export type SyscallArgs = Readonly<Partial<Record<ArgRole, number>>>;

const table: Readonly<Record<string, SyscallArgs>> = {
  // Files by name.
  open: { path: 0, flags: 1, mode: 2 },
  openat: { dirfd: 0, path: 1, flags: 2, mode: 3 },
  openat2: { dirfd: 0, path: 1 },
  creat: { path: 0, mode: 1 },
  access: { path: 0, mode: 1 },
  faccessat: { dirfd: 0, path: 1, mode: 2 },
  faccessat2: { dirfd: 0, path: 1, mode: 2, flags: 3 },
  stat: { path: 0 },
  lstat: { path: 0 },
  newfstatat: { dirfd: 0, path: 1, flags: 3 },
  statx: { dirfd: 0, path: 1, flags: 2 },
  statfs: { path: 0 },
  readlink: { path: 0 },
  readlinkat: { dirfd: 0, path: 1 },
  execve: { path: 0 },
  execveat: { dirfd: 0, path: 1, flags: 4 },
  chdir: { path: 0 },
  chroot: { path: 0 },
  mkdir: { path: 0, mode: 1 },
  mkdirat: { dirfd: 0, path: 1, mode: 2 },
  rmdir: { path: 0 },
  unlink: { path: 0 },
  unlinkat: { dirfd: 0, path: 1, flags: 2 },
  rename: { path: 0, path2: 1 },
  renameat: { dirfd: 0, path: 1, path2: 3 },
  renameat2: { dirfd: 0, path: 1, path2: 3, flags: 4 },
  link: { path: 0, path2: 1 },
  linkat: { dirfd: 0, path: 1, path2: 3, flags: 4 },
  symlink: { path2: 0, path: 1 },
  symlinkat: { path2: 0, dirfd: 1, path: 2 },
  chmod: { path: 0, mode: 1 },
  fchmodat: { dirfd: 0, path: 1, mode: 2 },
  chown: { path: 0 },
  lchown: { path: 0 },
  fchownat: { dirfd: 0, path: 1, flags: 4 },
  truncate: { path: 0 },
  utimensat: { dirfd: 0, path: 1, flags: 3 },
  inotify_add_watch: { fd: 0, path: 1, flags: 2 },
  getxattr: { path: 0 },
  lgetxattr: { path: 0 },
  mount: { path: 1, flags: 3 },
  umount2: { path: 0, flags: 1 },
  pivot_root: { path: 0, path2: 1 },
  // The 32-bit ABIs (i386, arm) name their large-file and 32-bit-uid variants apart; strace
  // prints them under those names, with the arguments in the same places.
  stat64: { path: 0 },
  lstat64: { path: 0 },
  fstatat64: { dirfd: 0, path: 1, flags: 3 },
  statfs64: { path: 0 },
  truncate64: { path: 0 },
  chown32: { path: 0 },
  lchown32: { path: 0 },

  // Files by descriptor.
  read: { fd: 0 },
  write: { fd: 0 },
  pread64: { fd: 0 },
  pwrite64: { fd: 0 },
  readv: { fd: 0 },
  writev: { fd: 0 },
  close: { fd: 0 },
  fstat: { fd: 0 },
  lseek: { fd: 0 },
  ioctl: { fd: 0 },
  fcntl: { fd: 0 },
  fsync: { fd: 0 },
  fdatasync: { fd: 0 },
  ftruncate: { fd: 0 },
  fchdir: { fd: 0 },
  fchmod: { fd: 0, mode: 1 },
  getdents64: { fd: 0 },
  dup: { fd: 0 },
  dup2: { fd: 0 },
  dup3: { fd: 0, flags: 2 },
  mmap: { flags: 3, fd: 4 },
  fstat64: { fd: 0 },
  fstatfs64: { fd: 0 },
  fcntl64: { fd: 0 },
  ftruncate64: { fd: 0 },
  _llseek: { fd: 0 },
  getdents: { fd: 0 },
  fchown32: { fd: 0 },
  mmap2: { flags: 3, fd: 4 },
  epoll_ctl: { fd: 2 },
  epoll_wait: { fd: 0 },
  epoll_pwait: { fd: 0 },

  // Sockets.
  connect: { fd: 0, sockaddr: 1 },
  bind: { fd: 0, sockaddr: 1 },
  accept: { fd: 0 },
  accept4: { fd: 0, flags: 3 },
  sendto: { fd: 0, sockaddr: 4 },
  recvfrom: { fd: 0 },
  sendmsg: { fd: 0 },
  recvmsg: { fd: 0 },
  getsockopt: { fd: 0 },
  setsockopt: { fd: 0 },
  shutdown: { fd: 0 },

  // Signals. rt_sigprocmask's `how` (SIG_SETMASK) is printed like a flag.
  rt_sigaction: { signal: 0 },
  rt_sigprocmask: { flags: 0, sigset: 1 },
  rt_sigsuspend: { sigset: 0 },
  rt_sigtimedwait: { sigset: 0 },
  rt_sigqueueinfo: { pid: 0, signal: 1 },
  rt_tgsigqueueinfo: { pid: 1, signal: 2 },
  kill: { pid: 0, signal: 1 },
  tkill: { pid: 0, signal: 1 },
  tgkill: { pid: 1, signal: 2 },
  pidfd_send_signal: { fd: 0, signal: 1 },
  sigaltstack: {}, // stack_t structures only; listed so consumers know it is a signal call
  signalfd4: { fd: 0, sigset: 1, flags: 3 },

  // Processes and threads. strace prints clone's arguments named (flags=…), in this order.
  clone: { flags: 1 },
  clone3: {}, // a struct clone_args: {flags=…, exit_signal=…, …}
  wait4: { pid: 0, flags: 2 },
  waitid: { pid: 1, flags: 3 },
  exit: { status: 0 },
  exit_group: { status: 0 },
};

/** The argument roles of `syscall`, or undefined for a syscall the table does not know. */
export function syscallArgs(syscall: string): SyscallArgs | undefined {
  // hasOwn: syscall names come from untrusted text ("constructor", "__proto__").
  return Object.hasOwn(table, syscall) ? table[syscall] : undefined;
}
