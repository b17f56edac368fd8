#!/usr/bin/env bash
# The whole test suite, as CI runs it: setup, lint, types, vectors, Python tests (unit, job lifecycle and
# the real-server end-to-end tests), the JS client's tests, the wheel check and a benchmark smoke run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
py=.venv/bin/python

echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check protocol agent_side client_side
echo "==> mypy --strict"
.venv/bin/mypy --strict -p shutdown_rpc
.venv/bin/mypy --strict harness bench
echo "==> vectors are current"
$py scripts/gen_vectors.py --check

echo "==> pytest"
$py -m pytest -q -p no:cacheprovider

if [ -f js/package.json ]; then
  echo "==> JS client (node --test)"
  (cd js && npm test)
fi

echo "==> wheel"
bash scripts/check_wheel.sh
echo "==> protocol benchmark smoke run (figures only, never a verdict)"
$py bench/bench_protocol.py --quick
