"""The Python snippets of README.md and of the docs pages, run as written: each ```python block is preceded by a
``<!-- snippet: NAME -->`` marker saying how it runs, and a block without a marker fails the first test
(docs/quickstart.md's blocks are run by tests/e2e/test_quickstart.py instead).

- ``agent``: the file runs as a worker from a venv holding only the wheel's ``[agent]`` extra. The only thing
  added is a launcher (tests/e2e/installed.py) that imports it and reports a worker load of 0 before calling
  ``cli.run_app(server)`` as the snippet's own ``__main__`` block does.
- ``backend``: runs from a venv holding only ``[client]``, with ``backend.key.json`` made by that venv's
  ``shutdown-rpc keygen``, against a real server: first before room ``support-42`` exists (it catches
  RoomNotFound), then with the agent snippet's job in it.
- ``agent-guide`` and ``backend-guide`` (docs/guides/): the same pair, the guides' complete programs: the agent
  (with a key scope and an ``on_accepted`` hook) runs as a worker, the backend ends its job and reports that the
  agent left the room.
- ``fleet`` (docs/production.md): the same, for rooms ``tenant-42-*``.
- ``mint`` (docs/guides/backend.md): runs from the ``[client]`` venv; the payload it prints verifies with the
  agent's public key.
- ``metrics`` (docs/observability.md): runs in the ``[agent]`` venv; then the agent side logs outcomes and the
  counter is read.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import re
import time
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from livekit import api

from harness.agent_worker import AgentWorker
from harness.livekit_server import LiveKitServer
from shutdown_rpc.protocol import AgentBinding, KeyRing, VerifiedRequest, Verifier, parse_key_file
from shutdown_rpc.protocol.wire import FixedClock, verifying_key_of
from tests.e2e.installed import REPO_ROOT, ExtraVenv, extra_venvs_fixture, venv_worker  # noqa: F401 - fixture
from tests.e2e.remote_fixtures import TIMEOUT

pytestmark = pytest.mark.e2e

README = REPO_ROOT / "README.md"
# README.md and every docs page but the Quickstart (its blocks are commands in terminals: test_quickstart.py)
PAGES = [README, *sorted(p for p in (REPO_ROOT / "docs").rglob("*.md") if p.name != "quickstart.md")]
SNIPPET = re.compile(r"<!-- snippet: (?P<name>[a-z_-]+)[^>]*-->\n```python\n(?P<code>.*?)```", re.DOTALL)
PYTHON_BLOCK = re.compile(r"^```python$", re.MULTILINE)

METRICS_CHECK = """

# -- appended by tests/e2e/test_readme.py: the agent side logs three calls the way it does for real ones
from prometheus_client import REGISTRY
from shutdown_rpc.agent_side._outcomes import log_outcome
from shutdown_rpc.protocol import ErrorCode

log_outcome("accepted", rpc_request_id="r1", caller="backend", request_id="q1")
log_outcome("duplicate", rpc_request_id="r2", caller="backend", request_id="q1")
log_outcome("bad_signature", rpc_request_id="r3", caller="x", code=ErrorCode.BAD_SIGNATURE, detail="forged")
# the record the handler writes when a flood's budget recovers (its attempts had no record of their own)
logging.getLogger("shutdown_rpc").warning("budget recovered", extra={"unlogged_refusals": 40})
for outcome in ("accepted", "duplicate", "bad_signature", "expired", "rate_limited"):
    print(outcome, REGISTRY.get_sample_value("shutdown_rpc_calls_total", {"outcome": outcome}))
"""


def snippets() -> dict[str, str]:
    return {m.group("name"): m.group("code") for page in PAGES for m in SNIPPET.finditer(page.read_text())}


def test_every_python_block_of_the_readme_and_the_docs_is_run() -> None:
    for page in PAGES:
        text = page.read_text()
        assert len(PYTHON_BLOCK.findall(text)) == len(list(SNIPPET.finditer(text))), f"unmarked ```python in {page}"
    assert set(snippets()) == {"agent", "backend", "fleet", "mint", "metrics", "agent-guide", "backend-guide"}
    assert {"agent", "backend"} == {m.group("name") for m in SNIPPET.finditer(README.read_text())}


def keygen(client: ExtraVenv, workdir: Path) -> None:
    done = client.run(
        ["keygen", "--key-id", "backend-1", "--out", "backend.key.json"], cwd=workdir, program="shutdown-rpc"
    )
    assert done.returncode == 0, done.stderr


def program_pair(client: ExtraVenv, workdir: Path, *, agent_file: str, agent: str, backend: str) -> dict[str, str]:
    """A key pair, the agent and ``backend.py`` in ``workdir``; returns the agent's environment (its keys)."""
    keygen(client, workdir)
    (workdir / agent_file).write_text(agent)
    (workdir / "backend.py").write_text(backend)
    return {"SHUTDOWN_RPC_KEYS": str(workdir / "backend.key.json.pub")}


async def run_in(client: ExtraVenv, workdir: Path, server: LiveKitServer, program: str) -> CompletedProcess[str]:
    """``python PROGRAM`` from the [client] venv, against ``server``."""
    return await asyncio.to_thread(client.run, [program], cwd=workdir, env=server.env())


async def wait_for_advertised_agent(lkapi: api.LiveKitAPI, room: str) -> str:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            listed = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
        except api.TwirpError:
            listed = None
        for p in listed.participants if listed else []:
            if p.attributes.get("shutdown_rpc.method"):
                return str(p.identity)
        await asyncio.sleep(0.1)  # poll interval of the wait
    raise TimeoutError(f"no agent advertising the shutdown method in {room!r}")


async def wait_for_log(worker: AgentWorker, text: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while text not in worker.log_tail(max_chars=1 << 22):
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not in the worker log:\n{worker.log_tail()}")
        await asyncio.sleep(0.1)  # poll interval of the wait


async def test_agent_and_backend_snippets_end_a_job_from_two_venvs(
    extra_venvs: dict[str, ExtraVenv], livekit_server: LiveKitServer, lkapi: api.LiveKitAPI, tmp_path: Path
) -> None:
    code = snippets()
    client, agent_venv = extra_venvs["client"], extra_venvs["agent"]
    keys = program_pair(client, tmp_path, agent_file="agent.py", agent=code["agent"], backend=code["backend"])
    # issue 19: the backend snippet did not catch RoomNotFound (a 20-line traceback before the room existed)
    done = await run_in(client, tmp_path, livekit_server, "backend.py")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "no room support-42"

    worker = venv_worker(agent_venv, tmp_path, module="agent", server=livekit_server, agent_name="readme", env=keys)
    try:
        await worker.dispatch(lkapi, "support-42")
        identity = await wait_for_advertised_agent(lkapi, "support-42")

        done = await run_in(client, tmp_path, livekit_server, "backend.py")

        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.strip() == f"accepted {identity}"
        assert "Warning" not in done.stderr, done.stderr  # e.g. PyJWT's InsecureKeyLengthWarning
        await wait_for_log(worker, "ending on request of billing-backend: ticket closed")

        (tmp_path / "fleet.py").write_text(code["fleet"])
        await worker.dispatch(lkapi, "tenant-42-a")
        await wait_for_advertised_agent(lkapi, "tenant-42-a")
        done = await run_in(client, tmp_path, livekit_server, "fleet.py")

        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.strip() == "tenant-42-a ended"
        await wait_for_log(worker, "ending on request of ops: maintenance")
    finally:
        worker.stop()


async def test_the_guides_agent_and_backend_programs_end_a_job(
    extra_venvs: dict[str, ExtraVenv], livekit_server: LiveKitServer, lkapi: api.LiveKitAPI, tmp_path: Path
) -> None:
    code = snippets()
    client, agent_venv = extra_venvs["client"], extra_venvs["agent"]
    keys = program_pair(
        client, tmp_path, agent_file="support_agent.py", agent=code["agent-guide"], backend=code["backend-guide"]
    )
    worker = venv_worker(
        agent_venv, tmp_path, module="support_agent", server=livekit_server, agent_name="support-agent", env=keys
    )
    try:
        await worker.dispatch(lkapi, "support-42")
        identity = await wait_for_advertised_agent(lkapi, "support-42")

        done = await run_in(client, tmp_path, livekit_server, "backend.py")

        assert done.returncode == 0, done.stdout + done.stderr[-3000:]
        lines = done.stdout.strip().splitlines()
        assert lines[0] == f"accepted by {identity} in support-42", lines
        assert re.fullmatch(r"request \S+: 1 attempt\(s\), \d+\.\d\d s", lines[1]), lines
        assert lines[2] == "agent left the room: True", lines
        assert "Warning" not in done.stderr, done.stderr
        await wait_for_log(worker, "from billing-backend (key backend-1)")  # the on_accepted hook
        await wait_for_log(worker, "ended by billing-backend [")  # the shutdown callback, through parse_reason
    finally:
        worker.stop()
        with contextlib.suppress(api.TwirpError):  # the README test expects no room support-42 at its start
            await lkapi.room.delete_room(api.DeleteRoomRequest(room="support-42"))


def test_mint_snippet_prints_a_payload_the_agent_accepts(extra_venvs: dict[str, ExtraVenv], tmp_path: Path) -> None:
    client = extra_venvs["client"]
    keygen(client, tmp_path)
    (tmp_path / "mint.py").write_text(snippets()["mint"])

    done = client.run(["mint.py"], cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    minted = ast.literal_eval(done.stdout.strip())
    assert minted["destinationIdentity"] == "agent-AJ_x" and minted["method"] == "shutdown_rpc.shutdown"
    public = verifying_key_of(parse_key_file((tmp_path / "backend.key.json.pub").read_text()))
    verifier = Verifier(KeyRing([public]), clock=FixedClock(time.time_ns() // 1_000_000))
    decision = verifier.verify(minted["payload"], AgentBinding("support-42", "agent-AJ_x", "AJ_x"))
    assert isinstance(decision, VerifiedRequest)
    assert decision.request.reason == "user hung up" and decision.request.issuer == "web-backend"


def test_metrics_snippet_counts_each_outcome(extra_venvs: dict[str, ExtraVenv], tmp_path: Path) -> None:
    (tmp_path / "metrics.py").write_text(snippets()["metrics"] + METRICS_CHECK)

    done = extra_venvs["agent"].run(["metrics.py"], cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    counts = dict(line.split() for line in done.stdout.strip().splitlines())
    assert counts == {
        "accepted": "1.0",
        "duplicate": "1.0",
        "bad_signature": "1.0",
        "expired": "None",
        "rate_limited": "40.0",
    }
