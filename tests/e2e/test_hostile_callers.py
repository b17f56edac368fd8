"""Hostile callers over the wire: a real livekit-server and the real example agent.

- a normal participant that advertises the shutdown method on itself is never taken for the agent;
- a flood of refused PerformRpc attempts (each from a fresh random caller identity) draws RATE_LIMITED,
  and a valid signed request in the middle of the flood is still accepted.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from livekit import api

from shutdown_rpc.client_side import Refused, RetryPolicy, ShutdownClient, ShutdownCommand, ShutdownResult
from shutdown_rpc.client_side._delivery import deliver
from shutdown_rpc.client_side._server_api import ServerChannel
from shutdown_rpc.protocol import ErrorCode, build_request, sign_request
from shutdown_rpc.protocol.wire import advertisement_attributes
from tests.e2e.remote_fixtures import (  # noqa: F401 - fixtures
    TIMEOUT,
    E2EKeys,
    ExampleAgent,
    e2e_keys_fixture,
    example_agent_fixture,
    job_ended_once,
    server_api_channel,
    start_job,
)

pytestmark = pytest.mark.e2e

NO_RETRY = RetryPolicy(max_attempts=1, attempt_timeout_s=10.0)
FLOOD_WAVE = 40  # concurrent refused calls per wave
MAX_FLOOD_WAVES = 30  # at most 1200 refused calls to spend the agent's budget of 100 (refilled at 20/s)


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
        room_name, ShutdownCommand(reason="discovered"), timeout=TIMEOUT
    )

    assert result.status == "accepted"
    assert result.agent_identity == job.agent_identity
    await job_ended_once(example_agent, job)


async def _refusal_code(backend: ServerChannel, payload: str, room: str, agent: str) -> ErrorCode:
    with pytest.raises(Refused) as refused:
        await deliver(backend, payload, room=room, agent=agent, request_id="-", timeout_s=TIMEOUT, policy=NO_RETRY)
    return refused.value.code


async def test_flood_of_refused_perform_rpc_draws_rate_limited_and_a_valid_request_still_passes(
    example_agent: ExampleAgent, e2e_keys: E2EKeys, lkapi: api.LiveKitAPI, participant_factory: Any, room_name: str
) -> None:
    job = await start_job(example_agent, lkapi, participant_factory, room_name)
    backend = server_api_channel(lkapi, room_name, job.agent_identity)
    wrong_room = sign_request(
        build_request(room="another-room", target=job.agent_identity, reason="", issuer="flood"), e2e_keys.ed25519
    )
    garbage = ["not base64!", wrong_room]
    codes: Counter[ErrorCode] = Counter()

    # Waves of concurrent calls until a wave is mostly answered RATE_LIMITED: the budget (100 refusals) is then
    # spent faster than it refills (20/s), however slow this machine is. Bounded, never timed.
    for _ in range(MAX_FLOOD_WAVES):
        wave = [_refusal_code(backend, garbage[i % 2], room_name, job.agent_identity) for i in range(FLOOD_WAVE)]
        answers = await asyncio.gather(*wave)
        codes.update(answers)
        if answers.count(ErrorCode.RATE_LIMITED) > FLOOD_WAVE // 2:
            break
    assert codes[ErrorCode.RATE_LIMITED] > FLOOD_WAVE // 2, codes
    assert set(codes) <= {ErrorCode.MALFORMED, ErrorCode.WRONG_ROOM, ErrorCode.RATE_LIMITED}
    assert example_agent.events.events(room=room_name, event="remote_shutdown_accepted") == []

    # a valid signed request in the middle of a wave of refused ones (the budget is spent) is accepted
    client = ShutdownClient(e2e_keys.ed25519, issuer="e2e", lkapi=lkapi)
    half = [_refusal_code(backend, garbage[i % 2], room_name, job.agent_identity) for i in range(FLOOD_WAVE // 2)]
    other_half = [_refusal_code(backend, garbage[i % 2], room_name, job.agent_identity) for i in range(FLOOD_WAVE // 2)]
    valid = client.shutdown(room_name, ShutdownCommand(reason="mid-flood"), agent=job.agent_identity, timeout=TIMEOUT)
    *before, result, _ = await asyncio.gather(*half, valid, asyncio.gather(*other_half, return_exceptions=True))
    assert isinstance(result, ShutdownResult) and result.status == "accepted"
    assert result.agent_identity == job.agent_identity
    assert ErrorCode.RATE_LIMITED in before
    await job_ended_once(example_agent, job)
