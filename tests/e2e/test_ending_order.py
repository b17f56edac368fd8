"""The order of an accepted request's ending, heard by a real participant on a real server (spec §11): without
``drain`` the agent falls silent first, and it leaves once the caller's receipt arrives, not before.

The agent waits up to 10 s for the receipt (SHUTDOWN_RPC_REPLY_FLUSH_DELAY_S) and speaks a 20 s utterance that
cannot be interrupted by users; the test sends the receipt only once the user has heard silence. Orders only.
Part of the compatibility matrix (marker ``compat``).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from livekit import api

from harness.audio_watch import AudioWatch
from shutdown_rpc.agent_side._reason import format_reason
from shutdown_rpc.protocol import Acknowledgement, AckStatus, ShutdownOptions, build_request, sign_request
from shutdown_rpc.protocol.wire import METHOD_NAME, RECEIPT_METHOD_NAME
from tests.e2e.conftest import WorkerFactory
from tests.e2e.remote_fixtures import (  # noqa: F401 - fixtures
    TIMEOUT,
    E2EKeys,
    ExampleAgent,
    e2e_keys_fixture,
    job_ended_once,
    start_example_agent,
    start_job,
    wall_ms,
)
from tests.e2e.test_receipt_and_floods import call

pytestmark = [pytest.mark.e2e, pytest.mark.compat]

ISSUER = "order-backend"
LONG_UTTERANCE = "x" * 500  # 20 s of tone: the agent is mid-utterance when the request arrives


@pytest.fixture(scope="module", name="speaking_patient_agent")
def speaking_patient_agent_fixture(
    agent_worker_factory: WorkerFactory, e2e_keys: E2EKeys, tmp_path_factory: pytest.TempPathFactory
) -> ExampleAgent:
    """The example agent waiting up to 10 s for the receipt, speaking a long utterance."""
    return start_example_agent(
        agent_worker_factory,
        e2e_keys,
        tmp_path_factory,
        SHUTDOWN_RPC_REPLY_FLUSH_DELAY_S="10",
        SHUTDOWN_RPC_GREETING=LONG_UTTERANCE,
    )


async def test_silent_first_then_leaves_on_the_receipt(
    speaking_patient_agent: ExampleAgent, e2e_keys: E2EKeys, lkapi: api.LiveKitAPI, participant_factory: Any
) -> None:
    room = f"order-{uuid.uuid4().hex[:8]}"
    job = await start_job(speaking_patient_agent, lkapi, participant_factory, room)
    watch = AudioWatch(job.user.room, job.agent_identity).attach()
    left: list[float] = []
    job.user.room.on(
        "participant_disconnected", lambda p: left.append(wall_ms()) if p.identity == job.agent_identity else None
    )
    try:
        await watch.wait_loud(timeout=TIMEOUT)
        request = build_request(
            room=room, target=job.agent_identity, reason="end call", issuer=ISSUER, options=ShutdownOptions.defaults()
        )
        ack = Acknowledgement.from_json(
            await call(lkapi, room, job.agent_identity, METHOD_NAME, sign_request(request, e2e_keys.hmac))
        )
        assert ack.status is AckStatus.ACCEPTED and ack.receipt is not None

        quiet = await watch.wait_quiet(frames=50, timeout=TIMEOUT)  # 0.5 s: more than a hiccup of a busy agent
        assert not left, "the agent left before the user heard silence"
        assert not speaking_patient_agent.events.events(room=room, event="shutdown_callback"), (
            "ended before the receipt"
        )
        await call(lkapi, room, job.agent_identity, RECEIPT_METHOD_NAME, ack.receipt)
        await job.user.wait_participant_left(job.agent_identity, timeout=TIMEOUT)
        callback = await job_ended_once(speaking_patient_agent, job)

        assert callback["reason"] == format_reason(ISSUER, request.request_id, "end call")
        assert watch.last_loud is not None and watch.last_loud.wall < quiet.wall  # nothing loud after silence
        assert quiet.wall * 1000 < left[0]  # ORDER at the user: silent, then the agent left
    finally:
        await watch.close()
        await job.user.disconnect()
