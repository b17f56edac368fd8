"""How livekit-server records a job's end (harness/job_states.py), for each way a job ends.

The server logs ``job ended`` with a status: JS_SUCCESS, or JS_FAILED "agent worker left the room" when the
agent participant left the room while its job was still running (pkg/rtc/room.go). For the endings that are
not ours the status is a race (observed figures: harness/README.md, "What ends a job"): those tests check that
the record is one of the two known shapes. An accepted remote-shutdown request must end as a success.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from livekit import api, rtc

from harness.agent_worker import AgentWorker
from harness.job_states import JobEnding, wait_job_ending
from harness.livekit_server import LiveKitServer
from shutdown_rpc.client_side import ShutdownClient, ShutdownCommand
from tests.e2e.remote_fixtures import (  # noqa: F401 - fixtures
    TIMEOUT,
    E2EKeys,
    ExampleAgent,
    e2e_keys_fixture,
    example_agent_fixture,
    job_ended_once,
    start_job,
)
from tests.e2e.test_job_endings import END_JOB_METHOD, job_ended
from tests.e2e.test_job_endings import start_job as start_recording_job

pytestmark = pytest.mark.e2e

KNOWN_ENDINGS = {("JS_SUCCESS", ""), ("JS_FAILED", "agent worker left the room")}


def known(ending: JobEnding) -> bool:
    print(f"job {ending.job_id}: {ending.status} {ending.error!r}")
    return (ending.status, ending.error) in KNOWN_ENDINGS


async def test_accepted_request_ends_the_job_as_a_success(
    livekit_server: LiveKitServer,
    example_agent: ExampleAgent,
    e2e_keys: E2EKeys,
    lkapi: api.LiveKitAPI,
    participant_factory: Any,
    room_name: str,
) -> None:
    job = await start_job(example_agent, lkapi, participant_factory, room_name)
    client = ShutdownClient(e2e_keys.hmac, issuer="job-state", lkapi=lkapi)

    result = await client.shutdown(room_name, ShutdownCommand(reason="done"), agent=job.agent_identity, timeout=TIMEOUT)

    assert result.status == "accepted"
    await job_ended_once(example_agent, job)
    ending = await wait_job_ending(livekit_server.log_path, job.job_id, timeout=TIMEOUT)
    assert (ending.status, ending.error) == ("JS_SUCCESS", ""), ending


@pytest.mark.parametrize("how", ["ctx_shutdown", "delete_room", "remove_participant", "delete_dispatch"])
async def test_other_endings_are_recorded(
    livekit_server: LiveKitServer,
    recording_worker: AgentWorker,
    lkapi: api.LiveKitAPI,
    participant_factory: Any,
    room_name: str,
    how: str,
) -> None:
    job = await start_recording_job(recording_worker, lkapi, participant_factory, room_name)

    if how == "ctx_shutdown":
        # the reply is usually lost (see test_job_endings.py); the ending is what matters here
        with contextlib.suppress(rtc.RpcError):
            await job.user.local.perform_rpc(
                destination_identity=job.agent_identity, method=END_JOB_METHOD, payload="bye", response_timeout=10
            )
    elif how == "delete_room":
        await lkapi.room.delete_room(api.DeleteRoomRequest(room=room_name))
    elif how == "remove_participant":
        await lkapi.room.remove_participant(api.RoomParticipantIdentity(room=room_name, identity=job.agent_identity))
    else:
        await lkapi.agent_dispatch.delete_dispatch(job.dispatch.id, room_name)

    await job_ended(recording_worker, job)
    ending = await wait_job_ending(livekit_server.log_path, job.started["job_id"], timeout=TIMEOUT)
    assert known(ending), ending
