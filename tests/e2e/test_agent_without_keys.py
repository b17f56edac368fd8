"""An agent deployed without SHUTDOWN_RPC_KEYS, or with a key path that does not exist, on a real server: its job
carries on (it used to crash), it logs an ERROR naming the variable (and the failed entry), and a backend's
request signed with a key it does not hold is refused with UNKNOWN_KEY saying why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from livekit import api

from harness.agent_worker import RecordFile, process_gone
from shutdown_rpc.agent_side._reason import format_reason
from shutdown_rpc.client_side import Refused, ShutdownClient, ShutdownCommand
from shutdown_rpc.protocol import ErrorCode, dump_key_file
from tests.e2e.remote_fixtures import (  # noqa: F401 - fixtures
    EXAMPLE_AGENT,
    TIMEOUT,
    E2EKeys,
    ExampleAgent,
    e2e_keys_fixture,
    job_ended_once,
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


async def test_agent_with_a_missing_key_path_runs_on_and_is_ended_by_a_key_that_loaded(
    agent_worker_factory: Any,
    e2e_keys: E2EKeys,
    lkapi: api.LiveKitAPI,
    participant_factory: Any,
    room_name: str,
    tmp_path: Path,
) -> None:
    # issue 19: a mis-mounted key file raised out of enable_remote_shutdown and the agent left the room
    good = tmp_path / "backend.key.json"
    good.write_text(dump_key_file(e2e_keys.hmac))
    good.chmod(0o600)
    missing = tmp_path / "not-mounted" / "ops.pub"
    events = tmp_path / "events.jsonl"
    keys = f"{good}:{missing}"
    agent = ExampleAgent(
        agent_worker_factory(EXAMPLE_AGENT, env={"SHUTDOWN_RPC_KEYS": keys, "SHUTDOWN_RPC_EVENTS_FILE": str(events)}),
        RecordFile(events),
    )
    job = await start_job(agent, lkapi, participant_factory, room_name)
    assert job.started["key_ids"] == [e2e_keys.hmac.key_id]
    log = agent.worker.log_tail(max_chars=1 << 22)
    assert f"SHUTDOWN_RPC_KEYS entry #2 ({missing}): cannot read key file: No such file or directory" in log

    ops = ShutdownClient(e2e_keys.ed25519, issuer="ops", lkapi=lkapi)  # its public key was the missing file
    with pytest.raises(Refused) as refused:
        await ops.shutdown(room_name, ShutdownCommand(reason="bye"), agent=job.agent_identity, timeout=TIMEOUT)
    assert refused.value.code is ErrorCode.UNKNOWN_KEY
    assert "this agent's keys could not be loaded (1 of 2 failed" in refused.value.message
    assert not process_gone(job.pid) and job.agent_identity in job.user.room.remote_participants

    backend = ShutdownClient(e2e_keys.hmac, issuer="backend", lkapi=lkapi)
    command = ShutdownCommand(reason="key that loaded")
    result = await backend.shutdown(room_name, command, agent=job.agent_identity, timeout=TIMEOUT)
    callback = await job_ended_once(agent, job)
    assert callback["reason"] == format_reason("backend", result.request_id, "key that loaded")
