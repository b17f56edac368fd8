#!/usr/bin/env bash
# The demo on a fresh machine, with only what it needs: a venv holding the package with its [agent,client]
# extras (or the one scripts/setup.sh made), the livekit-server binary (built from its Go module unless one is
# on PATH), then harness/demo.py: local server, the example agent in a room, a backend's signed shutdown, a
# timeline. No extras venvs, no npm, no apt packages: those are the tests' setup (scripts/setup.sh).
# Exits 0 when the agent acknowledged, ran its callback with the reason, left and its job ended; non-zero with a
# message otherwise. Everything it starts is stopped before it exits.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
say() { printf '==> %s\n' "$*" >&2; }
start=$SECONDS

if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
# The demo imports the agent side, the client side and the harness (livekit, livekit-api, livekit-agents).
if ! .venv/bin/python -c "import livekit.agents, livekit.api, shutdown_rpc.agent_side, shutdown_rpc.client_side" 2>/dev/null; then
  say "installing the package with its [agent,client] extras (pip's output: .venv/pip-demo.log)"
  .venv/bin/pip install -q --disable-pip-version-check -e ".[agent,client]" >.venv/pip-demo.log 2>&1 \
    || { cat .venv/pip-demo.log >&2; exit 1; }
fi

say "locating or building livekit-server"
.venv/bin/python -m harness.livekit_server --ensure-binary >/dev/null
say "set up in $((SECONDS - start)) s; running the demo"
exec .venv/bin/python -m harness.demo "$@"
