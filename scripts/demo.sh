#!/usr/bin/env bash
# The demo on a fresh machine: set up (venv, package, livekit-server binary, JS packages; no browser), then
# run harness/demo.py: local server, the example agent in a room, a backend's signed shutdown, a timeline.
# Exits 0 when the agent acknowledged, ran its callback with the reason, left and its job ended; non-zero
# with a message otherwise. Everything it starts is stopped before it exits.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
SKIP_BROWSER="${SKIP_BROWSER:-1}" bash scripts/setup.sh
exec .venv/bin/python -m harness.demo "$@"
