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
from livekit import api

from harness.links import BLACKOUT_ENV
from harness.livekit_server import LiveKitServer
from shutdown_rpc.agent_side import format_reason
from shutdown_rpc.client_side import AgentLeftBeforeReply, ShutdownClient, ShutdownResult
from tests.e2e.links_fixtures import leave, linked_setup, lkapi_relay_fixture, relay_server_fixture  # noqa: F401
from tests.e2e.remote_fixtures import TIMEOUT, E2EKeys, e2e_keys_fixture, job_ended_once  # noqa: F401

pytestmark = pytest.mark.e2e

ISSUER = "links-backend"
CALLER_DEADLINE_S = 20.0


async def shutdown_outcome(
    lkapi: api.LiveKitAPI, keys: E2EKeys, room: str, agent: str, request_id: str, reason: str
) -> ShutdownResult | AgentLeftBeforeReply:
    """The typed outcome of one request; anything else (Timeout, TransportError, a hang) fails the test."""
    client = ShutdownClient(keys.hmac, issuer=ISSUER, lkapi=lkapi)
    call = client.shutdown(room, agent=agent, reason=reason, timeout=CALLER_DEADLINE_S, request_id=request_id)
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
