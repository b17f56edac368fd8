"""Remote shutdown end to end: real livekit-server, the real example agent (examples/agent.py, a speaking
AgentSession) in a real worker, real callers (RoomService.PerformRpc and a Python rtc participant).

Every wait is on an event with a generous timeout; nothing is timed. Orders are checked on wall-clock
timestamps that the agent records (same machine, same clock as the test). One agent job per test that ends a
job; the refusal checks share one job, which a valid request then ends.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from livekit import api, rtc

from harness.room_state import identities, room_exists
from shutdown_rpc.agent_side._reason import format_reason
from shutdown_rpc.client_side import Refused, RetryPolicy, ShutdownClient, ShutdownCommand, ShutdownResult, mint_request
from shutdown_rpc.client_side._delivery import deliver
from shutdown_rpc.client_side._participant import RoomChannel
from shutdown_rpc.protocol import (
    Acknowledgement,
    ErrorCode,
    HmacSha256Key,
    ShutdownOptions,
    SigningKey,
    build_request,
    sign_request,
)
from shutdown_rpc.protocol.wire import FixedClock, encode_body, seal, unsigned_request
from tests.e2e.remote_fixtures import (  # noqa: F401 - fixtures
    TIMEOUT,
    E2EKeys,
    ExampleAgent,
    Job,
    e2e_keys_fixture,
    example_agent_fixture,
    job_ended_once,
    server_api_channel,
    start_job,
    wall_ms,
)

pytestmark = pytest.mark.e2e

ISSUER = "billing-backend"
NO_RETRY = RetryPolicy(max_attempts=1, attempt_timeout_s=10.0)


def signing_key(keys: E2EKeys, algorithm: str) -> SigningKey:
    return keys.hmac if algorithm == "hmac" else keys.ed25519


async def assert_user_alone_in_live_room(lkapi: api.LiveKitAPI, job: Job) -> None:
    await job.user.wait_participant_left(job.agent_identity, timeout=TIMEOUT)
    assert job.user.room.isconnected()
    assert await room_exists(lkapi, job.room)
    assert await identities(lkapi, job.room) == ["user"]


@pytest.mark.parametrize("algorithm", ["hmac", "ed25519"])
async def test_backend_shutdown_without_joining(
    example_agent: ExampleAgent,
    e2e_keys: E2EKeys,
    lkapi: api.LiveKitAPI,
    participant_factory: Any,
    room_name: str,
    algorithm: str,
) -> None:
    job = await start_job(example_agent, lkapi, participant_factory, room_name)
    client = ShutdownClient(signing_key(e2e_keys, algorithm), issuer=ISSUER, lkapi=lkapi)

    result = await client.shutdown(
        room_name, ShutdownCommand(reason="invoice unpaid"), agent=job.agent_identity, timeout=TIMEOUT
    )

    assert result.status == "accepted"
    assert (result.ack.agent_identity, result.ack.job_id) == (job.agent_identity, job.job_id)
    callback = await job_ended_once(example_agent, job)
    assert callback["reason"] == format_reason(ISSUER, result.request_id, "invoice unpaid")
    assert callback["caller_reason"] == "invoice unpaid"
    accepted = example_agent.events.events(room=room_name, event="remote_shutdown_accepted")
    assert [e["request_id"] for e in accepted] == [result.request_id]
    assert accepted[0]["key_id"] == signing_key(e2e_keys, algorithm).key_id
    await assert_user_alone_in_live_room(lkapi, job)


async def test_delete_room_after_callbacks(
    example_agent: ExampleAgent, e2e_keys: E2EKeys, lkapi: api.LiveKitAPI, participant_factory: Any, room_name: str
) -> None:
    job = await start_job(example_agent, lkapi, participant_factory, room_name)
    client = ShutdownClient(e2e_keys.hmac, issuer=ISSUER, lkapi=lkapi)

    result = await client.shutdown(
        room_name, ShutdownCommand(reason="session over", delete_room=True), agent=job.agent_identity, timeout=TIMEOUT
    )

    assert result.status == "accepted"
    await job.user.wait_disconnected(timeout=TIMEOUT)  # everybody is thrown out by DeleteRoom
    user_disconnected_ms = wall_ms()
    callback = await job_ended_once(example_agent, job)
    assert callback["reason"] == format_reason(ISSUER, result.request_id, "session over")
    assert callback["wall_ms"] <= user_disconnected_ms  # the room went away after the callback had run
    assert not await room_exists(lkapi, room_name)


async def test_drain_lets_speech_finish_before_leaving(
    example_agent: ExampleAgent, e2e_keys: E2EKeys, lkapi: api.LiveKitAPI, participant_factory: Any, room_name: str
) -> None:
    job = await start_job(example_agent, lkapi, participant_factory, room_name)
    agent = job.user.room.remote_participants[job.agent_identity]
    states: list[tuple[float, str]] = []

    def on_attributes(changed: dict[str, str], participant: rtc.Participant) -> None:
        if participant.identity == job.agent_identity and "lk.agent.state" in changed:
            states.append((wall_ms(), changed["lk.agent.state"]))

    left: list[float] = []

    def on_left(participant: rtc.RemoteParticipant) -> None:
        if participant.identity == job.agent_identity:
            left.append(wall_ms())

    job.user.room.on("participant_attributes_changed", on_attributes)
    job.user.room.on("participant_disconnected", on_left)
    await job.user.wait_until(
        lambda: agent.attributes.get("lk.agent.state") == "speaking", timeout=TIMEOUT, what="agent speaking"
    )
    client = ShutdownClient(e2e_keys.ed25519, issuer=ISSUER, lkapi=lkapi)

    result = await client.shutdown(
        room_name,
        ShutdownCommand(reason="drain me", drain=True, grace_ms=30_000),
        agent=job.agent_identity,
        timeout=TIMEOUT,
    )

    assert result.status == "accepted"
    callback = await job_ended_once(example_agent, job)
    await job.user.wait_participant_left(job.agent_identity, timeout=TIMEOUT)
    assert callback["reason"] == format_reason(ISSUER, result.request_id, "drain me")
    accepted = example_agent.events.events(room=room_name, event="remote_shutdown_accepted")[0]
    closed = example_agent.events.events(room=room_name, event="session_closed")[0]
    assert accepted["options"]["drain"] is True
    # ORDER: accepted while speaking -> the speech ends -> the session closes -> the agent leaves -> callbacks
    speech_ended = [t for t, state in states if state != "speaking" and t >= accepted["wall_ms"]]
    assert agent.attributes.get("lk.agent.state") != "speaking" or speech_ended, states
    assert accepted["wall_ms"] <= closed["wall_ms"] <= callback["wall_ms"]
    assert left and closed["wall_ms"] <= left[0]
    if speech_ended:
        assert speech_ended[0] <= left[0]
    assert "drain grace" not in example_agent.worker.log_tail(max_chars=1 << 24).split(job.job_id, 1)[-1]
    await assert_user_alone_in_live_room(lkapi, job)


async def test_frontend_relays_minted_payload(
    example_agent: ExampleAgent, e2e_keys: E2EKeys, lkapi: api.LiveKitAPI, participant_factory: Any, room_name: str
) -> None:
    job = await start_job(example_agent, lkapi, participant_factory, room_name)
    # the backend mints (it holds the key); the frontend only relays the opaque string
    minted = mint_request(
        e2e_keys.ed25519,
        ShutdownCommand(reason="user hung up"),
        room=room_name,
        agent=job.agent_identity,
        issuer="web-backend",
    )

    response = await job.user.local.perform_rpc(
        destination_identity=minted.agent, method=minted.method, payload=minted.payload, response_timeout=TIMEOUT
    )

    ack = Acknowledgement.from_json(response)
    assert (ack.status, ack.request_id, ack.agent_identity) == ("accepted", minted.request_id, job.agent_identity)
    callback = await job_ended_once(example_agent, job)
    assert callback["reason"] == format_reason("web-backend", minted.request_id, "user hung up")
    accepted = example_agent.events.events(room=room_name, event="remote_shutdown_accepted")[0]
    assert accepted["caller"] == "user"
    await assert_user_alone_in_live_room(lkapi, job)


def refusal_cases(keys: E2EKeys, room: str, agent: str) -> list[tuple[str, str, ErrorCode]]:
    """(name, payload, expected code) for each kind of refusal, against ``agent`` in ``room``."""

    def valid(**overrides: Any) -> Any:
        fields: dict[str, Any] = {"room": room, "target": agent, "reason": "nope", "issuer": ISSUER}
        fields.update(overrides)
        return build_request(**fields)

    forger = HmacSha256Key(keys.hmac.key_id, b"not-the-agents-secret-0123456789abcdef")
    stranger = HmacSha256Key("someone-else", b"0123456789abcdef0123456789abcdef")
    ten_minutes_ago = FixedClock(int(wall_ms()) - 600_000)
    return [
        ("unsigned", unsigned_request(valid()), ErrorCode.UNSIGNED_REFUSED),
        ("forged", sign_request(valid(), forger), ErrorCode.BAD_SIGNATURE),
        ("unknown key", sign_request(valid(), stranger), ErrorCode.UNKNOWN_KEY),
        ("expired", sign_request(valid(clock=ten_minutes_ago), keys.hmac), ErrorCode.EXPIRED),
        ("wrong room", sign_request(valid(room=room + "-other"), keys.ed25519), ErrorCode.WRONG_ROOM),
        ("wrong target", sign_request(valid(target="agent-AJ_other"), keys.hmac), ErrorCode.WRONG_TARGET),
        ("unsupported version", seal(encode_body(valid()), keys.hmac, version=2), ErrorCode.UNSUPPORTED_VERSION),
        ("oversized", "A" * 8192, ErrorCode.PAYLOAD_TOO_LARGE),
        ("malformed", "not base64!", ErrorCode.MALFORMED),
    ]


async def test_refusals_over_the_wire_keep_the_agent(
    example_agent: ExampleAgent, e2e_keys: E2EKeys, lkapi: api.LiveKitAPI, participant_factory: Any, room_name: str
) -> None:
    job = await start_job(example_agent, lkapi, participant_factory, room_name)
    backend = server_api_channel(lkapi, room_name, job.agent_identity)
    frontend = RoomChannel(job.user.room, job.agent_identity)
    seen: dict[str, ErrorCode] = {}

    for name, payload, code in refusal_cases(e2e_keys, room_name, job.agent_identity):
        with pytest.raises(Refused) as refused:
            await deliver(
                backend,
                payload,
                room=room_name,
                agent=job.agent_identity,
                request_id="-",
                timeout_s=TIMEOUT,
                policy=NO_RETRY,
            )
        seen[name] = refused.value.code
        assert job.agent_identity in job.user.room.remote_participants, f"agent left after {name}"
    # the frontend path maps refusals the same way
    forged = refusal_cases(e2e_keys, room_name, job.agent_identity)[1][1]
    with pytest.raises(Refused) as refused_in_room:
        await deliver(
            frontend,
            forged,
            room=room_name,
            agent=job.agent_identity,
            request_id="-",
            timeout_s=TIMEOUT,
            policy=NO_RETRY,
        )

    assert seen == {name: code for name, _, code in refusal_cases(e2e_keys, room_name, job.agent_identity)}
    assert refused_in_room.value.code is ErrorCode.BAD_SIGNATURE
    assert example_agent.events.events(room=room_name, event="remote_shutdown_accepted") == []
    assert example_agent.events.events(room=room_name, event="shutdown_callback") == []
    assert job.agent_identity in await identities(lkapi, room_name)
    # still listening: a valid request is accepted and ends the job
    result = await ShutdownClient(e2e_keys.hmac, issuer=ISSUER, lkapi=lkapi).shutdown(
        room_name, ShutdownCommand(reason="after refusals"), agent=job.agent_identity, timeout=TIMEOUT
    )
    assert result.status == "accepted"
    await job_ended_once(example_agent, job)


async def test_same_request_from_two_callers_ends_the_job_once(
    example_agent: ExampleAgent, e2e_keys: E2EKeys, lkapi: api.LiveKitAPI, participant_factory: Any, room_name: str
) -> None:
    job = await start_job(example_agent, lkapi, participant_factory, room_name)
    request = build_request(
        room=room_name, target=job.agent_identity, reason="twice", issuer=ISSUER, options=ShutdownOptions.defaults()
    )
    payload = sign_request(request, e2e_keys.hmac)

    def send(channel: Any) -> Any:
        return deliver(
            channel,
            payload,
            room=room_name,
            agent=job.agent_identity,
            request_id=request.request_id,
            timeout_s=TIMEOUT,
            policy=NO_RETRY,
        )

    results: list[ShutdownResult] = await asyncio.gather(
        send(server_api_channel(lkapi, room_name, job.agent_identity)),
        send(RoomChannel(job.user.room, job.agent_identity)),
    )

    assert sorted(r.status for r in results) == ["accepted", "duplicate"]
    assert {r.ack.request_id for r in results} == {request.request_id}
    assert {r.ack.agent_time_ms for r in results} == {results[0].ack.agent_time_ms}  # a duplicate repeats the ack
    callback = await job_ended_once(example_agent, job)
    assert callback["reason"] == format_reason(ISSUER, request.request_id, "twice")
    assert len(example_agent.events.events(room=room_name, event="remote_shutdown_accepted")) == 1
    await assert_user_alone_in_live_room(lkapi, job)
