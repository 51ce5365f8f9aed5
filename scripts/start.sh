#!/usr/bin/env bash
# The project's install-and-run command (README), for Linux and macOS:
#   bash scripts/start.sh [app.py arguments, e.g. --port 8080 or demo]
# Creates .venv, installs the pinned requirements, then runs app.py (default: serve with waitress).
set -e
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q -r requirements.txt
exec .venv/bin/python app.py "$@"
