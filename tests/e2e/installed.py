"""The wheel as users install it: the venvs of scripts/extras_venvs.sh (``.venv-extras/<extra>``, made by
scripts/setup.sh), refreshed with a wheel of the current tree, and helpers to run code in them.

Code run in these venvs gets no PYTHONPATH and runs from a directory outside the repository, so
``shutdown_rpc`` is the installed wheel, never the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.agent_worker import AgentWorker
from harness.livekit_server import LiveKitServer

REPO_ROOT = Path(__file__).resolve().parents[2]
EXTRAS_DIR = REPO_ROOT / ".venv-extras"

# Runs the AgentServer ``server`` of a module found on PYTHONPATH, with a worker load of 0 (the worker stays
# available on a busy 2-core machine, see harness/steady_example_agent.py), after checking that shutdown_rpc is
# the venv's installed wheel.
LAUNCHER = """
import importlib, sys
from pathlib import Path

from livekit.agents import cli

import shutdown_rpc

installed = Path(shutdown_rpc.__file__).resolve()
assert installed.is_relative_to(Path(sys.prefix).resolve()), f"shutdown_rpc from {installed}, not the venv"
server = importlib.import_module(MODULE).server
server.load_fnc = lambda: 0.0

if __name__ == "__main__":  # job processes re-import this file as __mp_main__: they must not start a worker
    cli.run_app(server)
"""


@dataclass(frozen=True)
class ExtraVenv:
    """One venv holding ``pip install <wheel>[extra]`` and nothing else."""

    extra: str
    path: Path

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    def importable(self, module: str) -> bool:
        """Whether ``module`` can be imported in this venv (asked in a subprocess)."""
        code = (
            f"import importlib.util as u, sys\ntry: sys.exit(u.find_spec({module!r}) is None)\n"
            "except ImportError: sys.exit(1)"
        )
        return subprocess.run([self.python, "-c", code], env=clean_env(), check=False).returncode == 0

    def run(
        self,
        args: list[str],
        *,
        cwd: Path,
        env: dict[str, str] | None = None,
        timeout: float = 120.0,
        program: str = "python",
    ) -> subprocess.CompletedProcess[str]:
        """Run ``python ARGS`` (or another ``program`` of the venv's bin/) from ``cwd``, ``env`` over a clean one."""
        return subprocess.run(
            [str(self.path / "bin" / program), *args],
            cwd=cwd,
            env={**clean_env(), **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def venv_worker(
    venv: ExtraVenv, app: Path, *, module: str, server: LiveKitServer, agent_name: str, env: dict[str, str]
) -> AgentWorker:
    """A started worker running ``module``'s ``server`` (a file or package under ``app``) with ``venv``'s python.

    ``PYTHONPATH`` is ``app`` alone (it replaces the harness's checkout path), so the package is the wheel.
    """
    launcher = app / "run_agent.py"
    launcher.write_text(LAUNCHER.replace("MODULE", repr(module)))
    worker = AgentWorker(
        launcher,
        server=server,
        agent_name=agent_name,
        env={**env, "PYTHONPATH": str(app)},
        log_path=app / "worker.log",
        python=venv.python,
    )
    worker.start()
    return worker


def clean_env() -> dict[str, str]:
    """os.environ without PYTHONPATH and the outer venv, so nothing of the checkout leaks into a venv's python."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def build_wheel(workdir: Path) -> Path:
    """A wheel of the current tree in ``workdir/dist`` (offline: no build isolation)."""
    dist = workdir / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(REPO_ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    shutil.rmtree(REPO_ROOT / "build", ignore_errors=True)
    if build.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}", pytrace=False)
    (wheel,) = dist.glob("*.whl")
    return wheel


def refresh_wheel(venvs: list[ExtraVenv], workdir: Path) -> None:
    """Build a wheel of the current tree and reinstall it, without deps, in ``venvs``.

    The dependencies were installed by scripts/setup.sh; this only keeps the package itself current.
    """
    wheel = build_wheel(workdir)
    for venv in venvs:
        done = subprocess.run(
            [venv.python, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", "--no-index", str(wheel)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"installing the wheel into {venv.path} failed:\n{done.stderr[-3000:]}", pytrace=False)


@pytest.fixture(scope="session", name="extra_venvs")
def extra_venvs_fixture(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ExtraVenv]:
    """``{"client": ..., "agent": ...}``: the venvs setup.sh made, holding a wheel of the current tree."""
    venvs = {extra: ExtraVenv(extra, EXTRAS_DIR / extra) for extra in ("client", "agent")}
    missing = [str(v.path) for v in venvs.values() if not Path(v.python).exists()]
    if missing:
        pytest.fail(f"no venv at {', '.join(missing)}: run `bash scripts/setup.sh`", pytrace=False)
    refresh_wheel(list(venvs.values()), tmp_path_factory.mktemp("wheel"))
    return venvs
