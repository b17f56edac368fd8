#!/usr/bin/env bash
# The whole test suite, as CI runs it: setup, lint, types, vectors, the wheel check (one venv per extra), the
# API docs, a benchmark smoke run, the JS client's tests (node --test: every shared vector; then ESLint) and its
# npm tarball in Node and in a browser page, then pytest: unit tests, a real job lifecycle,
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
.venv/bin/mypy --strict harness bench fuzz
.venv/bin/mypy --strict --explicit-package-bases tests scripts examples
echo "==> vectors are current"
$py scripts/gen_vectors.py --check
echo "==> wheel and sdist: one fresh venv per extra (core, client, agent, all)"
bash scripts/check_wheel.sh
echo "==> API docs (pdoc)"
bash scripts/docs.sh
echo "==> protocol benchmark smoke run (informational: figures only, never a verdict)"
$py bench/bench_protocol.py --quick
echo "==> scale benchmark smoke run on a 2-node cluster (figures only, never a verdict)"
$py -m bench.bench_scale --quick

echo "==> fuzzing the verifier (atheris, time-boxed; fuzz/README.md has the release-length run)"
fuzz_scratch=$(mktemp -d)
$py -m fuzz.fuzz_verifier -max_total_time="${FUZZ_SECONDS:-60}" -dict=fuzz/msgpack.dict -print_final_stats=1 \
  "$fuzz_scratch" fuzz/corpus/verifier
rm -rf "$fuzz_scratch"

if [ -f js/package.json ]; then
  echo "==> JS client (node --test, ESLint)"
  (cd js && npm test --silent)
  echo "==> npm package: npm pack, installed into a fresh Node project and a plain browser page"
  (cd js && node pack/check.mjs)
fi

echo "==> pytest"
$py -m pytest -q -p no:cacheprovider
