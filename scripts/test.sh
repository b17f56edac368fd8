#!/usr/bin/env bash
# The whole test suite, as CI runs it: setup, lint, types, vectors, the wheel check, a benchmark smoke run,
# the JS client's tests (node --test: every shared vector; then ESLint), then pytest: unit tests, a real job lifecycle,
# and the end-to-end tests on a real livekit-server (Python, Node and headless-browser clients).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
py=.venv/bin/python

echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> mypy --strict"
.venv/bin/mypy --strict -p shutdown_rpc
.venv/bin/mypy --strict harness bench
.venv/bin/mypy --strict --explicit-package-bases tests scripts examples
echo "==> vectors are current"
$py scripts/gen_vectors.py --check
echo "==> wheel"
bash scripts/check_wheel.sh
echo "==> protocol benchmark smoke run (figures only, never a verdict)"
$py bench/bench_protocol.py --quick
echo "==> scale benchmark smoke run on a 2-node cluster (figures only, never a verdict)"
$py -m bench.bench_scale --quick

if [ -f js/package.json ]; then
  echo "==> JS client (node --test, ESLint)"
  (cd js && npm test)
fi

echo "==> pytest"
$py -m pytest -q -p no:cacheprovider
