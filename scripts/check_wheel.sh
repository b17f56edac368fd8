#!/usr/bin/env bash
# Prove the packaging: build the sdist and, from it, the wheel; install the wheel into one fresh venv per extra
# (core, [client], [agent], [all]) and check in each what imports and what must not be there (check_extras.py):
# the core needs no LiveKit, [client] sends without livekit-agents, nothing installs a top-level `protocol`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/extras_venvs.sh" core client agent all
sdist=$(ls "$root"/.venv-extras/dist/*.tar.gz)
members=$(tar tzf "$sdist")
for member in LICENSE README.md CHANGELOG.md spec.md vectors/v1.json pyproject.toml; do
  grep -qx "[^/]*/$member" <<<"$members" || { echo "check_wheel: $member missing from $(basename "$sdist")" >&2; exit 1; }
done
cd "$root/.venv-extras"  # not the repo root: its folders must not shadow the installed package
for extra in core client agent all; do
  "$extra/bin/python" "$root/scripts/check_extras.py" "$extra"
done
