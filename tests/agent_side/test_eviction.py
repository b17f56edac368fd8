"""Evicting a participant that keeps calling while over its refusal budget (spec §7 step 15, §13): removed
once, after ``evict_after`` refusals over the budget, logged once; never an agent, never a PerformRpc caller."""

from __future__ import annotations

import logging

import pytest
from livekit import rtc

from shutdown_rpc.agent_side import AccessPolicy, RateLimit
from shutdown_rpc.protocol import Acknowledgement, AckStatus, ErrorCode
from tests.agent_side.fakes import ROOM, FakeParticipant, signed
from tests.agent_side.test_handler import Harness, make

SMALL = RateLimit(burst=2, refill_per_s=1e-6, evict_after=3)


async def flood(h: Harness, caller: str, n: int) -> None:
    for _ in range(n):
        with pytest.raises(rtc.RpcError):
            await h.call("garbage", caller)
    await h.remote._eviction.aclose()


async def test_a_participant_over_its_budget_is_removed_once_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = await make(AccessPolicy(rate_limit=SMALL))
    h.ctx.room.remote_participants["flooder"] = FakeParticipant("flooder")
    with caplog.at_level(logging.DEBUG, logger="shutdown_rpc"):
        await flood(h, "flooder", 2 + 2)  # budget, then 2 over it: not yet
        assert h.ctx.api.room.removed == []
        await flood(h, "flooder", 1)
    assert h.ctx.api.room.removed == [(ROOM, "flooder")]
    assert h.remote.counters["rate_limited"] == 3 and h.remote.counters["malformed"] == 2
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("shutdown_rpc")]
    assert sum("refused (malformed" in m for m in messages) == 2  # the budget's refusals, one record each
    assert sum("refused (rate_limited" in m for m in messages) == 0  # none per refusal over the budget
    assert sum("is over its refusal budget" in m for m in messages) == 1
    assert sum("removed flooder from the room after 3 refusals" in m for m in messages) == 1
    # still listening: a valid request is accepted
    assert Acknowledgement.from_json(await h.call(signed(), caller="backend")).status is AckStatus.ACCEPTED


@pytest.mark.parametrize(
    ("caller", "kind", "limit"),
    [
        ("PA_random", None, SMALL),  # a RoomService.PerformRpc caller: not a participant of the room
        ("other-agent", rtc.ParticipantKind.PARTICIPANT_KIND_AGENT, SMALL),
        (
            "flooder",
            rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD,
            RateLimit(burst=2, refill_per_s=1e-6, evict_after=None),
        ),
    ],
)
async def test_never_removed(caller: str, kind: int | None, limit: RateLimit) -> None:
    h = await make(AccessPolicy(rate_limit=limit))
    if kind is not None:
        h.ctx.room.remote_participants[caller] = FakeParticipant(caller, kind=kind)
    await flood(h, caller, 20)
    assert h.ctx.api.room.removed == []
    assert h.remote.counters["rate_limited"] == 18


def test_evict_after_must_be_positive() -> None:
    with pytest.raises(ValueError, match="evict_after"):
        RateLimit(evict_after=0)
    assert RateLimit().evict_after == 20


async def test_rate_limited_code_is_sent_to_the_flooder() -> None:
    h = await make(AccessPolicy(rate_limit=SMALL))
    await flood(h, "x", 2)
    await h.refused("garbage", ErrorCode.RATE_LIMITED, caller="x")
