#!/usr/bin/env bash
# The README's first command: set up a fresh machine (packages, npm ci, build, a Docker
# engine for the docker runtime and the tests), then run the sigterm-race scenario on the
# embedded default runtime (PID + mount namespaces, no daemon needed).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
started=$(./scripts/dockerd.sh ensure) || echo "quickstart: no Docker engine (only --runtime docker and its tests need one)" >&2
[ -z "${started:-}" ] || echo "quickstart: started dockerd (pid $started, log /tmp/forensics-dockerd.log); it keeps running for --runtime docker and npm test"
# `forensics` on PATH for what comes next: a link in npm's global bin ($(npm prefix -g)/bin).
npm link --no-audit --no-fund --loglevel=error >/dev/null
echo "quickstart: $(command -v forensics || echo "forensics not on PATH: add $(npm prefix -g)/bin to PATH") is this checkout"
forensics run sigterm-race "$@"
