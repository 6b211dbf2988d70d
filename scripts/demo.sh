#!/usr/bin/env bash
# Sets everything up, then runs logwatch's live demo: a simulated zipnet written into a
# real journal by systemd-journal-remote, followed by `logwatch follow` (about a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/logwatch demo "$@"
