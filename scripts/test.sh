#!/usr/bin/env bash
# The project's test command (README), for Linux and macOS: bash scripts/test.sh [pytest args]
# .ci/run calls this file, so CI runs exactly what a developer runs. Windows: scripts\test.cmd
set -e
cd "$(dirname "$0")/.."

python3 -m venv .venv && .venv/bin/pip install -q -r requirements-dev.txt

status=0
.venv/bin/python -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
  # pytest's "no tests collected" must not count as a pass.
  echo "scripts/test.sh: no tests ran (pytest collected nothing)" >&2
  exit 1
fi
exit "$status"
