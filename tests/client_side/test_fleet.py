"""Fleet operations against the fake Twirp server: room selection, per-room outcomes, dry run, bounded concurrency,
early close, and the webhook listener's verification (the real cluster runs in tests/e2e/test_fleet_cluster.py)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import uuid

import aiohttp
import pytest
from livekit import api

from shutdown_rpc.client_side import (
    AgentNotFound,
    Refused,
    RoomNotFound,
    ShutdownClient,
    ShutdownCommand,
    ShutdownResult,
)
from shutdown_rpc.client_side._agent_sessions import AgentSession
from shutdown_rpc.client_side._webhooks import MAX_BODY_BYTES
from shutdown_rpc.client_side.fleet import RoomOutcome, RoomStatus, WebhookListener, end_fleet, select_rooms
from shutdown_rpc.protocol import HmacSha256Key

from .conftest import KEY
from .fake_livekit import API_KEY, API_SECRET, FakeLiveKit, FakeParticipant, agent


def populate(server: FakeLiveKit) -> None:
    server.add("tenant-a-1", agent("agent-a1", [KEY]), FakeParticipant("user", kind=0))
    server.add("tenant-a-2", agent("agent-a2", [KEY]), agent("agent-a2b", [KEY]))
    server.add("tenant-b-1", agent("agent-b1", [KEY]))
    server.add("tenant-a-empty", FakeParticipant("user", kind=0))


async def collect(gen: object) -> dict[str, RoomOutcome]:
    return {o.room: o async for o in gen}  # type: ignore[attr-defined]


async def test_select_rooms_by_names_pattern_all(fake: tuple[FakeLiveKit, str], client: ShutdownClient) -> None:
    server, _ = fake
    populate(server)
    assert await select_rooms(client, names=["x", "y", "x"]) == ["x", "y"]
    assert await select_rooms(client, pattern="tenant-a-*") == ["tenant-a-1", "tenant-a-2", "tenant-a-empty"]
    assert await select_rooms(client, all_rooms=True) == sorted(server.rooms)
    with pytest.raises(ValueError, match="one way"):
        await select_rooms(client, names=["x"], all_rooms=True)
    with pytest.raises(ValueError, match="one way"):
        await select_rooms(client)


async def test_end_fleet_outcomes_per_room(fake: tuple[FakeLiveKit, str], client: ShutdownClient) -> None:
    server, _ = fake
    populate(server)
    server.add("foreign", agent("agent-f", [HmacSha256Key("someone-else", b"s" * 32)]))
    rooms = ["tenant-a-1", "tenant-a-2", "tenant-a-empty", "gone", "foreign"]

    outcomes = await collect(end_fleet(client, rooms, ShutdownCommand(reason="maintenance"), timeout=10, concurrency=2))

    assert set(outcomes) == set(rooms)
    assert outcomes["tenant-a-1"].status is RoomStatus.ACKNOWLEDGED
    assert set(outcomes["tenant-a-2"].results) == {"agent-a2", "agent-a2b"}
    assert all(isinstance(r, ShutdownResult) for r in outcomes["tenant-a-2"].results.values())
    assert outcomes["tenant-a-empty"].status is RoomStatus.NO_AGENT
    assert isinstance(outcomes["tenant-a-empty"].error, AgentNotFound)
    assert outcomes["gone"].status is RoomStatus.FAILED
    assert isinstance(outcomes["gone"].error, RoomNotFound)
    assert outcomes["foreign"].status is RoomStatus.FAILED
    assert isinstance(outcomes["foreign"].results["agent-f"], Refused)
    assert server.rooms["tenant-b-1"]["agent-b1"].payloads == []  # not selected, never asked


async def test_dry_run_sends_nothing(fake: tuple[FakeLiveKit, str], client: ShutdownClient) -> None:
    server, _ = fake
    populate(server)
    outcomes = await collect(end_fleet(client, ["tenant-a-2", "tenant-a-empty"], dry_run=True))
    assert outcomes["tenant-a-2"].status is RoomStatus.PLANNED
    assert outcomes["tenant-a-2"].planned == ("agent-a2", "agent-a2b")
    assert outcomes["tenant-a-empty"].status is RoomStatus.NO_AGENT
    assert server.calls.get("PerformRpc", 0) == 0


async def test_confirmation_by_polling(fake: tuple[FakeLiveKit, str], client: ShutdownClient) -> None:
    server, _ = fake
    populate(server)

    leave_after_answer(server, "tenant-a-1", "agent-a1")
    outcomes = await collect(end_fleet(client, ["tenant-a-1", "tenant-b-1"], confirm_timeout=0.5))
    assert outcomes["tenant-a-1"].status is RoomStatus.ENDED
    assert outcomes["tenant-b-1"].status is RoomStatus.STILL_PRESENT  # acknowledged, never left


async def test_concurrency_is_bounded_and_close_cancels(
    fake: tuple[FakeLiveKit, str], client: ShutdownClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_flight = 0
    peak = 0
    release = asyncio.Event()
    cancelled = 0

    async def slow_shutdown_all(room: str, *_: object, **__: object) -> dict[str, object]:
        nonlocal in_flight, peak, cancelled
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            if room != "r0":
                await release.wait()
            return {}
        except asyncio.CancelledError:
            cancelled += 1
            raise
        finally:
            in_flight -= 1

    monkeypatch.setattr(client, "shutdown_all", slow_shutdown_all)
    gen = end_fleet(client, [f"r{i}" for i in range(10)], concurrency=3)
    first = await gen.__anext__()
    assert first.room == "r0"
    await asyncio.sleep(0)  # let the freed worker pick the next room
    assert peak == 3
    await gen.aclose()
    assert cancelled == 3 and in_flight == 0


def signed_post(body: bytes, secret: str = API_SECRET) -> dict[str, str]:
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    token = api.AccessToken(API_KEY, secret).with_sha256(digest).to_jwt()
    return {"Authorization": token, "Content-Type": "application/webhook+json"}


def event_body(
    event: str,
    room: str,
    identity: str = "",
    *,
    participant_sid: str = "",
    room_sid: str = "",
    event_id: str | None = None,
    created_at: int | None = None,
) -> bytes:
    """A webhook's JSON body; a fresh event id and the current time unless given."""
    return json.dumps(
        {
            "event": event,
            "room": {"name": room, "sid": room_sid},
            "participant": {"identity": identity, "sid": participant_sid},
            "id": event_id or f"EV_{uuid.uuid4().hex}",
            "createdAt": str(int(time.time()) if created_at is None else created_at),
        }
    ).encode()


def session(room: str, identity: str, participant_sid: str = "", room_sid: str = "") -> AgentSession:
    """An agent asked just now."""
    return AgentSession(room, identity, participant_sid, room_sid, asked_at=time.time())


async def test_webhook_listener_verifies_and_records() -> None:
    async with WebhookListener(API_KEY, API_SECRET) as hooks, aiohttp.ClientSession() as http:
        waiter = asyncio.create_task(hooks.wait_gone(session("room-1", "agent-1", "PA_1"), timeout=10))
        left = event_body("participant_left", "room-1", "agent-1", participant_sid="PA_1")
        async with http.post(hooks.url, data=left, headers=signed_post(left)) as resp:
            assert resp.status == 200
        assert await waiter is True

        forged = event_body("participant_left", "room-2", "agent-2")
        wrong_secret = "not-the-secret-not-the-secret-0123"
        async with http.post(hooks.url, data=forged, headers=signed_post(forged, wrong_secret)) as resp:
            assert resp.status == 401
        tampered = event_body("participant_left", "room-2", "agent-3")
        async with http.post(hooks.url, data=tampered, headers=signed_post(forged)) as resp:
            assert resp.status == 401
        huge = b"x" * (MAX_BODY_BYTES + 1)
        async with http.post(hooks.url, data=huge, headers=signed_post(huge)) as resp:
            assert resp.status in (401, 413)
        assert not hooks.has_left("room-2", "agent-2") and not hooks.has_left("room-2", "agent-3")
        assert await hooks.wait_gone(session("room-2", "agent-2", "PA_2"), timeout=0.05) is False

        finished = event_body("room_finished", "room-3", room_sid="RM_3")
        async with http.post(hooks.url, data=finished, headers=signed_post(finished)) as resp:
            assert resp.status == 200
        assert hooks.has_left("room-3", "anyone")
        assert hooks.has_gone(session("room-3", "anyone", "PA_x", "RM_3"))
        assert (hooks.received, hooks.rejected) == (2, 3)


class NeverHeard:
    """Departures that never see anyone leave (as when the server dropped the webhooks)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    async def wait_gone(self, session: AgentSession, *, timeout: float) -> bool:
        self.asked.append((session.room, session.identity))
        return False


async def test_missing_webhook_falls_back_to_one_api_check(
    fake: tuple[FakeLiveKit, str], client: ShutdownClient
) -> None:
    server, _ = fake
    server.add("left-quietly", agent("agent-q", [KEY]))
    server.add("stays", agent("agent-s", [KEY]))
    hooks = NeverHeard()
    outcomes = await collect(end_fleet(client, ["left-quietly", "stays"], confirm_timeout=0.01, departures=hooks))
    assert outcomes["stays"].status is RoomStatus.STILL_PRESENT
    assert sorted(hooks.asked) == [("left-quietly", "agent-q"), ("stays", "agent-s")]

    server.add("left-quietly", agent("agent-q", [KEY]))  # a new job; it leaves after acknowledging, no webhook
    leave_after_answer(server, "left-quietly", "agent-q")
    again = await collect(end_fleet(client, ["left-quietly"], confirm_timeout=0.01, departures=hooks))
    assert again["left-quietly"].status is RoomStatus.ENDED


def leave_after_answer(server: FakeLiveKit, room: str, identity: str) -> None:
    """The fake agent answers as usual, then leaves its room (no webhook says so)."""
    participant = server.rooms[room][identity]
    answer = participant.answer

    def answer_then_leave(room_: str, payload: str) -> str:
        reply = answer(room_, payload)
        del server.rooms[room_][identity]
        return reply

    setattr(participant, "answer", answer_then_leave)
