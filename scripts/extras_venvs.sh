#!/usr/bin/env bash
# Build the wheel and sdist of this checkout into .venv-extras/dist, and give each named extra its own venv
# (.venv-extras/<extra>) holding `pip install <wheel>[<extra>]` and nothing else: `core` (no extra), `client`,
# `agent`, `all`. A venv is made anew when missing or when pyproject.toml changed since it was made; otherwise
# only the package itself is reinstalled from the new wheel (no dependency changes, so no network needed).
# `wheelhouse` downloads the wheels of [agent,client]'s dependencies, and of `build` and the build backend
# (setuptools), into .venv-extras/wheelhouse, for tests/e2e/test_quickstart.py to run the Quickstart's
# `python -m build` and `pip install` offline (inside the e2e network namespace).
#
#   bash scripts/extras_venvs.sh client agent      # what setup.sh prepares for the e2e tests
#   bash scripts/extras_venvs.sh core client agent all
#   bash scripts/extras_venvs.sh wheelhouse
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-"$root/.venv/bin/python"}
out="$root/.venv-extras"
say() { printf '==> %s\n' "$*" >&2; }
mkdir -p "$out"

rm -rf "$out/dist"
# sdist first, then the wheel built FROM the sdist (build's default): proves the sdist is complete.
"$py" -m build --outdir "$out/dist" "$root" >"$out/build.log" 2>&1 || { cat "$out/build.log" >&2; exit 1; }
rm -rf "$root/build"
wheel=$(ls "$out"/dist/*.whl)
stamp_value=$(sha256sum "$root/pyproject.toml" | cut -d' ' -f1)

wheelhouse() {
  local dir="$out/wheelhouse" stamp="$out/wheelhouse/.stamp" build_tools=(build "setuptools>=77")
  local wanted="$stamp_value ${build_tools[*]}"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    say "wheelhouse: current"
    return
  fi
  say "wheelhouse: downloading the wheels of [agent,client] for the offline Quickstart test"
  rm -rf "$dir"
  { "$py" -m pip download -q -d "$dir" "$wheel[agent,client]" \
      && "$py" -m pip download -q -d "$dir" "${build_tools[@]}"; } >"$out/pip-wheelhouse.log" 2>&1 \
    || { cat "$out/pip-wheelhouse.log" >&2; exit 1; }
  rm -f "$dir"/livekit_shutdown_rpc-*.whl  # the Quickstart builds the wheel of the current tree itself
  echo "$wanted" >"$stamp"
}

for extra in "$@"; do
  if [ "$extra" = wheelhouse ]; then
    wheelhouse
    continue
  fi
  case "$extra" in
    core) spec="$wheel" ;;
    client | agent | all) spec="$wheel[$extra]" ;;
    *) echo "extras_venvs.sh: unknown extra '$extra' (core, client, agent, all, wheelhouse)" >&2; exit 2 ;;
  esac
  venv="$out/$extra"
  stamp="$venv/.extras-stamp"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_value" ]; then
    say "venv [$extra]: reinstalling the package only"
    "$venv/bin/pip" install -q --no-deps --force-reinstall "$wheel" >"$venv/pip.log" 2>&1 \
      || { cat "$venv/pip.log" >&2; exit 1; }
    continue
  fi
  say "venv [$extra]: fresh venv, pip install ${spec#"$out/dist/"}"
  rm -rf "$venv"
  python3 -m venv "$venv"
  { "$venv/bin/pip" install -q --upgrade pip && "$venv/bin/pip" install -q "$spec"; } >"$out/pip-$extra.log" 2>&1 \
    || { cat "$out/pip-$extra.log" >&2; exit 1; }
  mv "$out/pip-$extra.log" "$venv/pip.log"
  echo "$stamp_value" >"$stamp"
done
