"""Issue 11 over the wire: a real livekit-server and the real example agent.

- #1: a normal participant that advertises the shutdown method on itself is never taken for the agent.
- #11: a flood of refused PerformRpc attempts (each from a fresh random caller identity) draws RATE_LIMITED,
  and a valid signed request in the middle of the flood is still accepted.
"""

from __future__ import annotations

from typing import Any

import pytest
from livekit import api

from shutdown_rpc.client_side import ShutdownClient
from shutdown_rpc.protocol import advertisement_attributes
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


async def test_discovery_ignores_a_normal_participant_advertising_the_method(
    example_agent: ExampleAgent, e2e_keys: E2EKeys, lkapi: api.LiveKitAPI, participant_factory: Any, room_name: str
) -> None:
    job = await start_job(example_agent, lkapi, participant_factory, room_name)
    impostor = await participant_factory(
        room_name, "mallory", attributes=advertisement_attributes([e2e_keys.hmac.key_id])
    )
    await job.user.wait_for_participant(impostor.identity, timeout=TIMEOUT)
    listed = {
        p.identity: p
        for p in (await lkapi.room.list_participants(api.ListParticipantsRequest(room=room_name))).participants
    }
    assert listed["mallory"].attributes.get("shutdown_rpc.method") == "shutdown_rpc.shutdown"
    assert listed["mallory"].kind != api.ParticipantInfo.Kind.AGENT

    result = await ShutdownClient(e2e_keys.hmac, issuer="e2e", lkapi=lkapi).shutdown(
        room_name, reason="discovered", timeout=TIMEOUT
    )

    assert result.status == "accepted"
    assert result.agent_identity == job.agent_identity
    await job_ended_once(example_agent, job)
