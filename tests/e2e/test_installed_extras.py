"""The installed wheel, one extra per venv, on a real livekit-server: a backend whose venv holds only
``[client]`` (livekit-agents not importable) sends a shutdown and gets the ack, and the example agent runs from
a venv holding only ``[agent]``. Neither process sees the checkout (see tests/e2e/installed.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from livekit import api

from harness.agent_worker import RecordFile
from harness.livekit_server import LiveKitServer
from shutdown_rpc.client_side import ShutdownClient, ShutdownCommand
from shutdown_rpc.protocol import AckStatus, dump_key_file
from tests.e2e.installed import REPO_ROOT, ExtraVenv, extra_venvs_fixture, venv_worker  # noqa: F401 - fixture
from tests.e2e.remote_fixtures import (  # noqa: F401 - fixtures
    TIMEOUT,
    E2EKeys,
    ExampleAgent,
    e2e_keys_fixture,
    example_agent_fixture,
    job_ended_once,
    start_job,
)

pytestmark = pytest.mark.e2e

BACKEND = """
import asyncio, importlib.util, json, sys

assert importlib.util.find_spec("livekit.agents") is None, "this venv must not hold livekit-agents"
import shutdown_rpc
from shutdown_rpc.client_side import ShutdownClient, ShutdownCommand, load_signing_key

room, agent, key_path = sys.argv[1:4]
key, _ = load_signing_key(key_path)


async def main() -> None:
    async with ShutdownClient(key, issuer="client-only-venv") as client:  # LIVEKIT_URL / _API_KEY / _API_SECRET
        command = ShutdownCommand(reason="sent from a [client] venv")
        result = await client.shutdown(room, command, agent=agent, timeout=60)
    print(json.dumps({"status": result.ack.status.value, "agent": result.agent_identity,
                      "package": shutdown_rpc.__file__}))

asyncio.run(main())
"""


async def test_client_only_venv_sends_and_gets_the_ack(
    extra_venvs: dict[str, ExtraVenv],
    example_agent: ExampleAgent,
    e2e_keys: E2EKeys,
    lkapi: api.LiveKitAPI,
    livekit_server: LiveKitServer,
    participant_factory: Any,
    room_name: str,
    tmp_path: Path,
) -> None:
    client = extra_venvs["client"]
    assert not client.importable("livekit.agents")
    assert client.importable("shutdown_rpc.client_side")
    job = await start_job(example_agent, lkapi, participant_factory, room_name)
    key_path = tmp_path / "backend.key.json"
    key_path.write_text(dump_key_file(e2e_keys.ed25519))
    (tmp_path / "backend.py").write_text(BACKEND)

    done = client.run(
        ["backend.py", room_name, job.agent_identity, str(key_path)], cwd=tmp_path, env=livekit_server.env()
    )

    assert done.returncode == 0, done.stderr[-3000:]
    sent = json.loads(done.stdout.strip().splitlines()[-1])
    assert sent["status"] == AckStatus.ACCEPTED.value
    assert sent["agent"] == job.agent_identity
    assert Path(sent["package"]).resolve().is_relative_to(client.path.resolve())  # noqa: ASYNC240
    callback = await job_ended_once(example_agent, job)
    assert callback["issuer"] == "client-only-venv"
    assert callback["caller_reason"] == "sent from a [client] venv"


async def test_agent_only_venv_runs_the_example_agent(
    extra_venvs: dict[str, ExtraVenv],
    e2e_keys: E2EKeys,
    lkapi: api.LiveKitAPI,
    livekit_server: LiveKitServer,
    participant_factory: Any,
    room_name: str,
    tmp_path: Path,
) -> None:
    agent_venv = extra_venvs["agent"]
    assert agent_venv.importable("livekit.agents")
    app = tmp_path / "app"
    for relative in ("examples/agent.py", "examples/tone_tts.py"):
        (app / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / relative, app / relative)
    events = tmp_path / "events.jsonl"
    env = {"SHUTDOWN_RPC_KEYS": e2e_keys.agent_env_value(), "SHUTDOWN_RPC_EVENTS_FILE": str(events)}
    worker = venv_worker(
        agent_venv, app, module="examples.agent", server=livekit_server, agent_name="agent-venv", env=env
    )
    try:
        agent = ExampleAgent(worker, RecordFile(events))
        job = await start_job(agent, lkapi, participant_factory, room_name)
        client = ShutdownClient(e2e_keys.hmac, issuer="dev-venv-backend", lkapi=lkapi)

        result = await client.shutdown(
            room_name, ShutdownCommand(reason="from a wheel"), agent=job.agent_identity, timeout=TIMEOUT
        )

        assert result.ack.status is AckStatus.ACCEPTED
        callback = await job_ended_once(agent, job)
        assert callback["caller_reason"] == "from a wheel"
    finally:
        worker.stop()
