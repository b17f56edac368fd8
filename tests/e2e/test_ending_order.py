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
from shutdown_rpc.agent_side import format_reason
from shutdown_rpc.client_side import perform_rpc
from shutdown_rpc.protocol import METHOD_NAME, RECEIPT_METHOD, ShutdownOptions, build_request, sign_request
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

pytestmark = [pytest.mark.e2e, pytest.mark.compat]

ISSUER = "order-backend"
LONG_UTTERANCE = "x" * 500  # 20 s of tone: the agent is mid-utterance when the request arrives


@pytest.fixture(scope="module", name="patient_agent")
def patient_agent_fixture(
    agent_worker_factory: object, e2e_keys: E2EKeys, tmp_path_factory: pytest.TempPathFactory
) -> ExampleAgent:
    """The example agent waiting up to 10 s for the receipt, speaking a long utterance."""
    events_path = tmp_path_factory.mktemp("patient-agent") / "events.jsonl"
    return start_example_agent(
        agent_worker_factory,
        e2e_keys,
        events_path,
        SHUTDOWN_RPC_REPLY_FLUSH_DELAY_S="10",
        SHUTDOWN_RPC_GREETING=LONG_UTTERANCE,
    )


async def call(lkapi: api.LiveKitAPI, room: str, agent: str, method: str, payload: str) -> str:
    return await perform_rpc(
        lkapi,
        room=room,
        destination_identity=agent,
        method=method,
        payload=payload,
        response_timeout_s=10,
        timeout_s=30,
    )


async def test_silent_first_then_leaves_on_the_receipt(
    patient_agent: ExampleAgent, e2e_keys: E2EKeys, lkapi: api.LiveKitAPI, participant_factory: Any
) -> None:
    room = f"order-{uuid.uuid4().hex[:8]}"
    job = await start_job(patient_agent, lkapi, participant_factory, room)
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
        ack = await call(lkapi, room, job.agent_identity, METHOD_NAME, sign_request(request, e2e_keys.hmac))
        assert '"status":"accepted"' in ack

        quiet = await watch.wait_quiet(frames=50, timeout=TIMEOUT)  # 0.5 s: more than a hiccup of a busy agent
        assert not left, "the agent left before the user heard silence"
        assert not patient_agent.events.events(room=room, event="shutdown_callback"), "ended before the receipt"
        await call(lkapi, room, job.agent_identity, RECEIPT_METHOD, request.request_id)
        await job.user.wait_participant_left(job.agent_identity, timeout=TIMEOUT)
        callback = await job_ended_once(patient_agent, job)

        assert callback["reason"] == format_reason(ISSUER, request.request_id, "end call")
        assert watch.last_loud is not None and watch.last_loud.wall < quiet.wall  # nothing loud after silence
        assert quiet.wall * 1000 < left[0]  # ORDER at the user: silent, then the agent left
    finally:
        await watch.close()
        await job.user.disconnect()
