#!/usr/bin/env bash
# The whole test suite, as CI runs it: setup, lint, types, vectors, the wheel check (one venv per extra), the
# API docs, a benchmark smoke run, the JS client's tests (node --test: every shared vector; then ESLint) and its
# npm tarball in Node and in a browser page, then pytest: unit tests, a real job lifecycle,
# and the end-to-end tests on a real livekit-server (Python, Node and headless-browser clients; the Python and
# the Node example agents).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/phases.sh
source scripts/phases.sh  # phase NAME: "==> NAME", then "<== NAME: N s" when the next starts

phase "setup"
bash scripts/setup.sh
py=.venv/bin/python

phase "ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
phase "mypy --strict"
.venv/bin/mypy --strict -p shutdown_rpc
.venv/bin/mypy --strict harness bench fuzz
.venv/bin/mypy --strict --explicit-package-bases tests scripts examples
phase "vectors are current"
$py scripts/gen_vectors.py --check
phase "wheel and sdist: one fresh venv per extra (core, client, agent, all)"
bash scripts/check_wheel.sh
phase "docs site (mkdocs --strict) and its check in headless Chromium"
bash scripts/docs.sh
phase "protocol benchmark smoke run (informational: figures only, never a verdict)"
$py bench/bench_protocol.py --quick
phase "scale benchmark smoke run on a 2-node cluster (figures only, never a verdict)"
$py -m bench.bench_scale --quick

phase "fuzzing the verifier (atheris, time-boxed; fuzz/README.md has the release-length run)"
fuzz_scratch=$(mktemp -d)
# libFuzzer looks up optional sanitizer hooks (__sanitizer_acquire_crash_state, ...) and prints
# "WARNING: Failed to find function" for each: atheris runs without sanitizers, so they are expected and dropped.
echo "(libFuzzer's 'WARNING: Failed to find function __sanitizer_*' lines are expected without sanitizers: hidden)"
$py -m fuzz.fuzz_verifier -max_total_time="${FUZZ_SECONDS:-60}" -dict=fuzz/msgpack.dict -print_final_stats=1 \
  "$fuzz_scratch" fuzz/corpus/verifier 2>&1 | { grep -v '^WARNING: Failed to find function' || true; }
rm -rf "$fuzz_scratch"

if [ -f js/package.json ]; then
  phase "JS client (node --test, ESLint)"
  (cd js && npm test --silent)
  phase "npm package: npm pack, installed into a fresh Node project and a plain browser page"
  (cd js && node pack/check.mjs)
fi

phase "pytest"
# one line per test file with a running count ([ 120/812]); the 15 slowest tests at the end
$py -m pytest -p no:cacheprovider -o console_output_style=count --durations=15
