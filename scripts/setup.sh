#!/usr/bin/env bash
# Installs everything forensics and its tests need on Debian/Ubuntu, then builds it.
# Idempotent: a second run only checks. Needs root (apt-get) unless all is present.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v strace >/dev/null || need_apt+=(strace)
command -v gdb >/dev/null || need_apt+=(gdb)
[ -x /usr/bin/tini-static ] || need_apt+=(tini)
command -v dumb-init >/dev/null || need_apt+=(dumb-init)
command -v dockerd >/dev/null || need_apt+=(docker.io)
command -v mkfifo >/dev/null || need_apt+=(coreutils)
# Tests run a static C program as a PID 1 without any signal handler (test/fixtures/programs).
command -v cc >/dev/null && [ -f /usr/lib/x86_64-linux-gnu/libc.a ] || need_apt+=(gcc libc6-dev)
# audit's tests put a static shell into FROM-scratch images (gcc above also serves their cgo build).
dpkg -s busybox-static >/dev/null 2>&1 || need_apt+=(busybox-static)
# The tz and locale scenarios build their probe with cgo: glibc (gcc) and static musl (musl-gcc).
command -v musl-gcc >/dev/null || need_apt+=(musl-tools)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! command -v go >/dev/null; then
  if [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    echo "setup: Go is missing: install Go >= 1.22 to /usr/local/go (https://go.dev/dl) and run again" >&2
    exit 69
  fi
fi

echo "setup: npm ci"
npm ci --no-audit --no-fund --loglevel=error
echo "setup: build"
npm run --silent build
echo "setup: done ($(go version | cut -d' ' -f3), $(strace -V | head -1))"
