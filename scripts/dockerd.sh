#!/usr/bin/env bash
# ensure: start dockerd in the background unless an engine already answers; prints the
#         PID of the daemon it started (nothing if one was running).
# stop PID: stop a daemon that `ensure` started.
set -euo pipefail
case "${1:-}" in
  ensure)
    if docker info >/dev/null 2>&1; then exit 0; fi
    log=${DOCKERD_LOG:-/tmp/forensics-dockerd.log}
    dockerd >"$log" 2>&1 &
    pid=$!
    for _ in $(seq 1 60); do
      if docker info >/dev/null 2>&1; then echo "$pid"; exit 0; fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
    echo "dockerd did not come up; its log ($log) ends with:" >&2
    tail -20 "$log" >&2
    exit 1
    ;;
  stop)
    pid=${2:?usage: dockerd.sh stop PID}
    kill "$pid" 2>/dev/null || exit 0
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 1; done
    kill -9 "$pid" 2>/dev/null || true
    ;;
  *) echo "usage: dockerd.sh ensure | stop PID" >&2; exit 64 ;;
esac
