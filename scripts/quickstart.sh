#!/usr/bin/env bash
# The README's first command: set up a fresh machine, then run the sigterm-race scenario
# on the embedded default runtime (PID + mount namespaces, no daemon needed).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
exec node bin/forensics.js run sigterm-race "$@"
