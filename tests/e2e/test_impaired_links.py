"""Remote shutdown behind impaired links (harness/links.py): a real server, the agent in its own network
namespace behind a userspace relay and nftables loss, the user on its own link.

Outcomes and orders only; nothing is timed. "Nothing hangs" is a bound on the whole call (the caller's own
deadline plus a margin), not a latency assertion.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from livekit import api, rtc

from harness.links import BLACKOUT_ENV
from harness.livekit_server import LiveKitServer
from harness.participant import RoomParticipant
from shutdown_rpc.agent_side._reason import format_reason
from shutdown_rpc.client_side import (
    AgentLeftBeforeReply,
    RoomShutdownCaller,
    ShutdownClient,
    ShutdownCommand,
    ShutdownResult,
)
from shutdown_rpc.client_side._perform_rpc import perform_rpc
from shutdown_rpc.protocol import Acknowledgement, AckStatus, ShutdownOptions, build_request, sign_request
from shutdown_rpc.protocol.wire import METHOD_NAME, RECEIPT_METHOD_NAME
from tests.e2e.links_fixtures import leave, linked_setup, lkapi_relay_fixture, relay_server_fixture  # noqa: F401
from tests.e2e.remote_fixtures import TIMEOUT, E2EKeys, e2e_keys_fixture, job_ended_once, wall_ms  # noqa: F401

pytestmark = pytest.mark.e2e

ISSUER = "links-backend"
CALLER_DEADLINE_S = 20.0


async def shutdown_outcome(
    lkapi: api.LiveKitAPI, keys: E2EKeys, room: str, agent: str, request_id: str, reason: str
) -> ShutdownResult | AgentLeftBeforeReply:
    """The typed outcome of one request; anything else (Timeout, TransportError, a hang) fails the test."""
    client = ShutdownClient(keys.hmac, issuer=ISSUER, lkapi=lkapi)
    call = client.shutdown(
        room, ShutdownCommand(reason=reason, request_id=request_id), agent=agent, timeout=CALLER_DEADLINE_S
    )
    try:
        return await asyncio.wait_for(call, CALLER_DEADLINE_S + 15)  # a bound against hangs, not a timing target
    except AgentLeftBeforeReply as left:
        return left


@pytest.mark.parametrize("profile", ["mobile", "lossy"])
async def test_request_on_a_lossy_link_ends_the_job_once(
    relay_server: LiveKitServer,
    e2e_keys: E2EKeys,
    lkapi_relay: api.LiveKitAPI,
    tmp_path: Path,
    profile: str,
) -> None:
    room = f"links-{profile}-{uuid.uuid4().hex[:8]}"
    async with linked_setup(relay_server, profile, e2e_keys, tmp_path) as setup:
        job, watch = await setup.start_job(lkapi_relay, room)
        try:
            request_id = uuid.uuid4().hex
            outcome = await shutdown_outcome(lkapi_relay, e2e_keys, room, job.agent_identity, request_id, "on 5% loss")

            if isinstance(outcome, ShutdownResult):
                assert outcome.status == "accepted"
                assert outcome.request_id == request_id
            callback = await job_ended_once(setup.agent, job)
            assert callback["reason"] == format_reason(ISSUER, request_id, "on 5% loss")
            await job.user.wait_participant_left(job.agent_identity, timeout=TIMEOUT)
        finally:
            await leave(job.user, watch)


# The agent withholds its reply to the shutdown request (harness/link_agent.py WithholdReply): the reply is lost
# for certain, while the ending attributes and the departure travel over signalling as on a mobile link that drops
# the data channel.
@pytest.mark.parametrize("profile", ["clean", "mobile"])
async def test_participant_caller_whose_reply_is_lost_sees_its_ending_announced(
    relay_server: LiveKitServer,
    e2e_keys: E2EKeys,
    lkapi_relay: api.LiveKitAPI,
    tmp_path: Path,
    profile: str,
) -> None:
    room = f"links-evidence-{profile}-{uuid.uuid4().hex[:8]}"
    async with linked_setup(relay_server, profile, e2e_keys, tmp_path, SHUTDOWN_RPC_LINK_WITHHOLD_REPLY="1") as setup:
        job, watch = await setup.start_job(lkapi_relay, room)
        try:
            request_id = uuid.uuid4().hex
            caller = RoomShutdownCaller(job.user.room, e2e_keys.hmac, issuer=ISSUER)
            call = caller.shutdown(
                ShutdownCommand(reason="reply lost", request_id=request_id),
                agent=job.agent_identity,
                timeout=CALLER_DEADLINE_S,
            )
            with pytest.raises(AgentLeftBeforeReply) as left:
                await asyncio.wait_for(call, CALLER_DEADLINE_S + 15)  # a bound against hangs, not a timing target

            assert left.value.ending_announced is True, str(left.value)
            assert left.value.announced_request_id == request_id
            assert "the agent announced it was ending for this request" in str(left.value)
            callback = await job_ended_once(setup.agent, job)
            assert callback["reason"] == format_reason(ISSUER, request_id, "reply lost")
        finally:
            await leave(job.user, watch)


async def test_blackout_after_the_reply_gives_a_typed_outcome(
    relay_server: LiveKitServer,
    e2e_keys: E2EKeys,
    lkapi_relay: api.LiveKitAPI,
    tmp_path: Path,
) -> None:
    room = f"links-blackout-{uuid.uuid4().hex[:8]}"
    async with linked_setup(relay_server, "blackout", e2e_keys, tmp_path) as setup:
        assert BLACKOUT_ENV in setup.agent.worker.environment()
        job, watch = await setup.start_job(lkapi_relay, room)
        try:
            request_id = uuid.uuid4().hex
            outcome = await shutdown_outcome(lkapi_relay, e2e_keys, room, job.agent_identity, request_id, "blackout")

            assert isinstance(outcome, (ShutdownResult, AgentLeftBeforeReply))
            callback = await job_ended_once(setup.agent, job)
            assert callback["reason"] == format_reason(ISSUER, request_id, "blackout")
            # the blackout did happen, once, after the agent accepted the request
            blackouts = [e for e in setup.links.relay_events() if e["event"] == "blackout"]
            accepted = setup.agent.events.events(room=room, event="remote_shutdown_accepted")
            assert [b["link"] for b in blackouts] == ["agent"]
            assert [a["request_id"] for a in accepted] == [request_id]
            assert accepted[0]["wall_ms"] <= blackouts[0]["wall_ms"]
        finally:
            await leave(job.user, watch)


def leave_times(user: RoomParticipant, identity: str) -> list[float]:
    """Wall-clock ms at which ``user`` sees ``identity`` leave (filled by the room's event)."""
    left: list[float] = []
    user.room.on("participant_disconnected", lambda p: left.append(wall_ms()) if p.identity == identity else None)
    return left


def signed_payload(keys: E2EKeys, room: str, agent: str, reason: str) -> tuple[str, str]:
    """(payload, request id) of a request without drain that the test relays itself (it decides when the
    receipt goes)."""
    request = build_request(room=room, target=agent, reason=reason, issuer=ISSUER, options=ShutdownOptions.defaults())
    return sign_request(request, keys.hmac), request.request_id


async def test_without_drain_the_agent_is_silent_before_it_leaves(
    relay_server: LiveKitServer,
    e2e_keys: E2EKeys,
    lkapi_relay: api.LiveKitAPI,
    tmp_path: Path,
) -> None:
    # The agent may wait up to 10 s for the receipt; the test sends it only once the user hears silence. An agent
    # that kept speaking until it left would be heard (loud) until it left, 10 s later.
    room = f"links-silent-{uuid.uuid4().hex[:8]}"
    async with linked_setup(relay_server, "clean", e2e_keys, tmp_path, SHUTDOWN_RPC_REPLY_FLUSH_DELAY_S="10") as setup:
        job, watch = await setup.start_job(lkapi_relay, room)
        left: list[float] = []
        job.user.room.on(
            "participant_disconnected", lambda p: left.append(wall_ms()) if p.identity == job.agent_identity else None
        )
        try:
            payload, request_id = signed_payload(e2e_keys, room, job.agent_identity, "end call")
            ack = await perform_rpc(
                lkapi_relay, room=room, destination_identity=job.agent_identity, method=METHOD_NAME, payload=payload,
                response_timeout_s=10, timeout_s=30,
            )  # fmt: skip
            acknowledgement = Acknowledgement.from_json(ack)
            assert acknowledgement.status is AckStatus.ACCEPTED and acknowledgement.receipt is not None

            quiet = await watch.wait_quiet(frames=50, timeout=TIMEOUT)  # 0.5 s: more than a hiccup of a busy agent
            assert not left, "the agent left before the user heard silence"
            await perform_rpc(
                lkapi_relay, room=room, destination_identity=job.agent_identity, method=RECEIPT_METHOD_NAME,
                payload=acknowledgement.receipt, response_timeout_s=10, timeout_s=30,
            )  # fmt: skip
            await job.user.wait_participant_left(job.agent_identity, timeout=TIMEOUT)
            callback = await job_ended_once(setup.agent, job)

            assert callback["reason"] == format_reason(ISSUER, request_id, "end call")
            assert watch.last_loud is not None and watch.last_loud.wall < quiet.wall  # nothing loud after silence
            assert quiet.wall * 1000 < left[0]  # ORDER at the user: silent, then the agent left
        finally:
            await leave(job.user, watch)


async def test_with_drain_the_utterance_finishes_then_the_agent_leaves(
    relay_server: LiveKitServer,
    e2e_keys: E2EKeys,
    lkapi_relay: api.LiveKitAPI,
    tmp_path: Path,
) -> None:
    room = f"links-drain-{uuid.uuid4().hex[:8]}"
    utterance = "y" * 75  # 3 s of tone
    async with linked_setup(relay_server, "clean", e2e_keys, tmp_path, SHUTDOWN_RPC_GREETING=utterance) as setup:
        job, watch = await setup.start_job(lkapi_relay, room)
        agent = job.user.room.remote_participants[job.agent_identity]
        left = leave_times(job.user, job.agent_identity)
        speech_ended: list[float] = []

        def on_attributes(changed: dict[str, str], participant: rtc.Participant) -> None:
            if participant.identity == job.agent_identity and changed.get("lk.agent.state", "speaking") != "speaking":
                speech_ended.append(wall_ms())

        job.user.room.on("participant_attributes_changed", on_attributes)
        try:
            await job.user.wait_until(lambda: agent.attributes.get("lk.agent.state") == "speaking", timeout=TIMEOUT)
            client = ShutdownClient(e2e_keys.hmac, issuer=ISSUER, lkapi=lkapi_relay)
            result = await client.shutdown(
                room, ShutdownCommand(reason="drain", drain=True, grace_ms=30_000), agent=job.agent_identity
            )
            assert result.status == "accepted"

            await job.user.wait_participant_left(job.agent_identity, timeout=TIMEOUT)
            await job_ended_once(setup.agent, job)

            accepted = setup.agent.events.events(room=room, event="remote_shutdown_accepted")
            assert [a["options"]["drain"] for a in accepted] == [True]
            # ORDER: accepted while speaking -> the user still hears the utterance -> it ends -> the agent leaves
            assert watch.last_loud is not None and accepted[0]["wall_ms"] < watch.last_loud.wall * 1000
            assert speech_ended and speech_ended[0] <= left[0]
            log = setup.agent.worker.log_tail(max_chars=1 << 24).split(job.job_id, 1)[-1]
            assert "drain grace" not in log  # finished by itself, not cut at the grace
        finally:
            await leave(job.user, watch)
