"""Run by the python of one .venv-extras/<extra> venv (see check_wheel.sh): what that install can and cannot import.

Standard library only, plus the installed package. Exits non-zero with one line per failed check.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import subprocess
import sys
from pathlib import Path

DIST = "livekit-shutdown-rpc"
# what each extra must make importable (and, by absence, what it must not bring)
PARTS = {
    "core": {"shutdown_rpc.protocol"},
    "client": {"shutdown_rpc.protocol", "shutdown_rpc.client_side"},
    "agent": {"shutdown_rpc.protocol", "shutdown_rpc.agent_side"},
    "all": {"shutdown_rpc.protocol", "shutdown_rpc.client_side", "shutdown_rpc.agent_side"},
}
TOP_LEVEL_NEVER = ("protocol", "agent_side", "client_side")
# what each install must refuse to import, with a ModuleNotFoundError naming the extra ([agent] brings
# livekit-api and aiohttp with livekit-agents, so client_side imports there)
GUARDED = {
    "core": {"shutdown_rpc.client_side": "client", "shutdown_rpc.agent_side": "agent"},
    "client": {"shutdown_rpc.agent_side": "agent"},
    "agent": {},
    "all": {},
}
THIRD_PARTY = {
    "core": {"livekit": False, "aiohttp": False},
    "client": {"livekit.rtc": True, "livekit.api": True, "aiohttp": True, "livekit.agents": False},
    "agent": {"livekit.rtc": True, "livekit.agents": True},
    "all": {"livekit.rtc": True, "livekit.api": True, "aiohttp": True, "livekit.agents": True},
}


def importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def check(extra: str) -> list[str]:
    """Every failed check of this venv, one line each."""
    return [*_check_distribution(), *_check_imports(extra), *_check_script(extra)]


def _check_distribution() -> list[str]:
    import shutdown_rpc

    failures: list[str] = []
    if not Path(shutdown_rpc.__file__ or "").resolve().is_relative_to(Path(sys.prefix).resolve()):
        failures.append(f"shutdown_rpc imported from {shutdown_rpc.__file__}, not from this venv")
    version = importlib.metadata.version(DIST)
    if version != shutdown_rpc.__version__:
        failures.append(f"metadata version {version} != shutdown_rpc.__version__ {shutdown_rpc.__version__}")
    if not any(f.name == "LICENSE" for f in importlib.metadata.files(DIST) or []):
        failures.append("no LICENSE file in the installed dist-info")
    failures += [f"the wheel installs a top-level {top!r} module" for top in TOP_LEVEL_NEVER if importable(top)]
    return failures


def _check_imports(extra: str) -> list[str]:
    failures = [
        f"{name} importable: {not expected}, expected {expected}"
        for name, expected in THIRD_PARTY[extra].items()
        if importable(name) != expected
    ]
    for part in sorted(PARTS[extra]):
        try:
            importlib.import_module(part)
        except ImportError as exc:
            failures.append(f"import {part}: {exc}")
    for part, needs in GUARDED[extra].items():
        try:
            importlib.import_module(part)
            failures.append(f"import {part} worked without [{needs}]")
        except ModuleNotFoundError as exc:
            if f'pip install "{DIST}[{needs}]"' not in str(exc):
                failures.append(f"import {part} without [{needs}] fails without naming the extra: {exc}")
    return failures


def _check_script(extra: str) -> list[str]:
    """``shutdown-rpc --version``: the metadata version with [client], one line naming the extra without."""
    done = subprocess.run([_script(), "--version"], capture_output=True, text=True, check=False)
    if "shutdown_rpc.client_side" in PARTS[extra]:
        expected = f"shutdown-rpc {importlib.metadata.version(DIST)} (wire protocol v1)\n"
        if done.returncode != 0 or done.stdout != expected:
            return [f"shutdown-rpc --version: exit {done.returncode}, {done.stdout!r} {done.stderr[-300:]}"]
    elif extra == "core" and (
        done.returncode != 2 or "[client] extra" not in done.stderr or "Traceback" in done.stderr
    ):
        return [f"shutdown-rpc without [client]: exit {done.returncode}, {done.stderr.strip()[-300:]}"]
    return []


def _script() -> str:
    return str(Path(sys.executable).parent / "shutdown-rpc")


def main() -> int:
    extra = sys.argv[1]
    failures = check(extra)
    for failure in failures:
        print(f"[{extra}] FAIL: {failure}", file=sys.stderr)
    if not failures:
        print(f"[{extra}] ok: {', '.join(sorted(PARTS[extra]))}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
