#!/usr/bin/env bash
# Prove the packaging: a wheel built from the repo installs into a fresh venv, `import shutdown_rpc.*` works
# there, and nothing installs a top-level `protocol` (or agent_side/client_side) module.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-"$root/.venv/bin/python"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" -m build --wheel --outdir "$work/dist" "$root" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
rm -rf "$root/build"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$work"/dist/*.whl
cd "$work"
"$work/venv/bin/shutdown-rpc" --help >/dev/null  # the console script resolves to the CLI package
"$work/venv/bin/python" - <<'PY'
import importlib.util, shutdown_rpc.protocol, shutdown_rpc.agent_side, shutdown_rpc.client_side
from shutdown_rpc.protocol import sign_request, Verifier
for top in ("protocol", "agent_side", "client_side"):
    assert importlib.util.find_spec(top) is None, f"wheel installs a top-level {top!r} module"
print("wheel OK:", shutdown_rpc.protocol.__file__)
PY
