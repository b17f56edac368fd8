#!/usr/bin/env bash
# API reference of the public names, rendered from their docstrings by pdoc into docs/api/ (open
# docs/api/index.html). CI runs it: a docstring or annotation pdoc cannot render (a warning) fails the build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${1:-docs/api}
rm -rf "$out"
# the public submodules are named: a package's __all__ (its own public names) hides them from pdoc otherwise.
# the package's own private modules (shutdown_rpc/_*.py) are not API: pdoc would list them as pages
private=()
for f in shutdown_rpc/_*.py; do
  [ "$(basename "$f")" = __init__.py ] || private+=("!shutdown_rpc.$(basename "$f" .py)")
done
log=$(mktemp)
trap 'rm -f "$log"' EXIT
.venv/bin/pdoc --docformat restructuredtext --footer-text "livekit-shutdown-rpc $(.venv/bin/python -c 'import shutdown_rpc; print(shutdown_rpc.__version__)')" \
  -o "$out" shutdown_rpc shutdown_rpc.protocol.wire shutdown_rpc.client_side.fleet "${private[@]}" 2>"$log" || { cat "$log" >&2; exit 1; }
# pdoc cannot resolve postponed annotations in the __init__ it derives for a typing.NamedTuple (the generated
# __new__ has its own globals): those pages still render, with the annotation as written. Anything else fails.
namedtuple_init="^Warn: Error parsing type annotation ForwardRef\('[A-Za-z_]+'\) for [A-Za-z_.]+\.__init__\."
if grep "^Warn" "$log" | grep -Evq "$namedtuple_init"; then
  echo "docs: pdoc warnings:" >&2
  grep "^Warn" "$log" | grep -Ev "$namedtuple_init" >&2
  exit 1
fi
for page in shutdown_rpc/protocol.html shutdown_rpc/protocol/wire.html shutdown_rpc/agent_side.html \
  shutdown_rpc/client_side.html shutdown_rpc/client_side/fleet.html; do
  [ -s "$out/$page" ] || { echo "docs: $out/$page was not written" >&2; exit 1; }
done
grep -q "enable_remote_shutdown" "$out/shutdown_rpc/agent_side.html"
grep -q "ShutdownClient" "$out/shutdown_rpc/client_side.html"
echo "docs: $(find "$out" -name '*.html' | wc -l) pages in $out/"
