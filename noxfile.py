"""The livekit-agents compatibility matrix (docs/compatibility.md): the oldest supported release, one in the
middle and the newest, each in a venv of its own with the livekit (rtc) version that release pins or resolves.

Each session runs the agent-side unit tests (among them the reply-turns test that drives livekit-rtc's own RPC
path, and one test per livekit-internals patch) and the real-server subset marked ``compat``, with
harness/portable_agent.py (examples/agent.py's scenario built with that release's names). The full suite runs
on the newest release in the project's own .venv (scripts/test.sh).

Why nox and not tox: the matrix is three values of one pin plus a per-release extra constraint, which is a
parametrized Python function here; nox also drives uv (venvs made and refreshed in seconds from uv's cache).
The venvs (.nox/) are reused between runs; ``nox -s compat`` runs the matrix, ``nox -l`` lists it.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv"
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["compat"]

# livekit-agents release -> extra constraints. 1.2 ... 1.5 import httpx through openai, which they require without
# an upper bound, and openai 3 moved to httpx2: those releases need openai<3 to import at all.
MATRIX = {
    "1.2.18": ["openai<3"],  # oldest supported
    "1.5.17": ["openai<3"],  # the middle
    "1.8.9": [],  # newest
}
PYTEST = ("python", "-m", "pytest", "-q", "-p", "no:cacheprovider")
# tests/agent_side/test_job_lifecycle.py drives examples/agent.py, written for the newest release only
UNIT = ("tests/agent_side", "--ignore=tests/agent_side/test_job_lifecycle.py")


@nox.session(python="3.11")
@nox.parametrize("agents", list(MATRIX), ids=[f"livekit-agents-{v}" for v in MATRIX])
def compat(session: nox.Session, agents: str) -> None:
    """Agent-side unit tests and the ``compat`` real-server subset on one livekit-agents release."""
    session.install("-e", ".[dev]", f"livekit-agents=={agents}", *MATRIX[agents])
    session.run("python", "-c", "import importlib.metadata as m; print('livekit', m.version('livekit'))")
    session.run(*PYTEST, *UNIT)
    session.run(*PYTEST, "-m", "compat", "tests/e2e", env={"SHUTDOWN_RPC_E2E_AGENT": "harness.portable_agent"})
