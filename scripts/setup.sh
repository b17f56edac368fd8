#!/usr/bin/env bash
# Idempotent setup on a fresh machine: Python venv with the package (editable) and its dev tools, one venv per
# extra that the e2e tests install the wheel into, the
# livekit-server binary (built from its Go module unless one is on PATH), the JS client's packages and,
# for the browser test, Debian's chromium. Safe to run again: each step is skipped when already done.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
say() { printf '==> %s\n' "$*" >&2; }

if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.setup-stamp
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "installing Python packages (pip's output: .venv/pip-install.log)"
  { .venv/bin/pip install -q --upgrade pip && .venv/bin/pip install -q -e ".[dev,bench]"; } >.venv/pip-install.log 2>&1 \
    || { cat .venv/pip-install.log >&2; exit 1; }
  touch "$stamp"
fi

# The e2e tests run a backend from a venv holding only the wheel's [client] extra (livekit-agents absent) and
# the example agent from one holding only [agent]: .venv-extras/client and .venv-extras/agent; the Quickstart test
# installs [agent,client] offline from .venv-extras/wheelhouse.
bash scripts/extras_venvs.sh client agent wheelhouse

say "locating or building livekit-server"
server_bin=$(.venv/bin/python -m harness.livekit_server --ensure-binary)
[ -x "$server_bin" ] || { echo "setup: no livekit-server binary (got '$server_bin')" >&2; exit 1; }
say "livekit-server: $server_bin"

if [ -f js/package-lock.json ]; then
  if [ ! -d js/node_modules ] || [ js/package-lock.json -nt js/node_modules ]; then
    say "installing JS packages (npm ci)"
    (cd js && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
  (cd js && npm run --silent build)
fi

# Debian packages: the package lists are refreshed once per run, only when something is missing.
apt_updated=0
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  apt-get install -y -qq "$@" >/dev/null
}

# nftables: the e2e egress guard (harness/egress.py) and packet loss on impaired links (harness/links.py);
# util-linux (nsenter, taskset, unshare) is part of every Debian base system.
if ! command -v nft >/dev/null 2>&1 && [ ! -x /usr/sbin/nft ]; then
  say "installing Debian's nftables (nft) for the egress guard and the impaired-link test bed"
  apt_install nftables
fi

if [ "${SKIP_BROWSER:-0}" != 1 ] && ! command -v chromium >/dev/null 2>&1; then
  say "installing Debian's chromium for the browser test"
  apt_install chromium
fi

# The cluster tests run their own redis-server (harness/redis_server.py) on a loopback port.
if ! command -v redis-server >/dev/null 2>&1; then
  say "installing Debian's redis-server for the cluster tests"
  apt_install redis-server
fi
