"""An agent deployed without SHUTDOWN_RPC_KEYS, on a real server: its job carries on (it used to crash), it logs
an ERROR naming the variable and its forms, and a backend's request is refused with UNKNOWN_KEY saying why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from livekit import api

from harness.agent_worker import RecordFile, process_gone
from shutdown_rpc.client_side import Refused, ShutdownClient, ShutdownCommand
from shutdown_rpc.protocol import ErrorCode
from tests.e2e.remote_fixtures import (  # noqa: F401 - fixtures
    EXAMPLE_AGENT,
    TIMEOUT,
    E2EKeys,
    ExampleAgent,
    e2e_keys_fixture,
    start_job,
)

pytestmark = pytest.mark.e2e


async def test_agent_without_keys_runs_on_and_tells_each_caller(
    agent_worker_factory: Any,
    e2e_keys: E2EKeys,
    lkapi: api.LiveKitAPI,
    participant_factory: Any,
    room_name: str,
    tmp_path: Path,
) -> None:
    events = tmp_path / "events.jsonl"
    worker = agent_worker_factory(EXAMPLE_AGENT, env={"SHUTDOWN_RPC_KEYS": "", "SHUTDOWN_RPC_EVENTS_FILE": str(events)})
    job = await start_job(ExampleAgent(worker, RecordFile(events)), lkapi, participant_factory, room_name)
    assert job.started["key_ids"] == []
    assert "remote shutdown DISABLED for this job: no verification keys. SHUTDOWN_RPC_KEYS holds" in worker.log_tail(
        max_chars=1 << 22
    )

    client = ShutdownClient(e2e_keys.hmac, issuer="backend", lkapi=lkapi)
    with pytest.raises(Refused) as refused:
        await client.shutdown(room_name, ShutdownCommand(reason="bye"), agent=job.agent_identity, timeout=TIMEOUT)

    assert refused.value.code is ErrorCode.UNKNOWN_KEY and not refused.value.retryable
    assert "no verification keys (SHUTDOWN_RPC_KEYS unset)" in refused.value.message
    assert not process_gone(job.pid)  # the job runs on, and the agent is still in the room
    assert job.agent_identity in job.user.room.remote_participants
    await lkapi.room.delete_room(api.DeleteRoomRequest(room=room_name))  # ends the job
