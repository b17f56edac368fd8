"""Issue 23 #1-#2: the fleet's confirmations are bound to the very participant and room that acknowledged, and
one room's failure is that room's outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp

from shutdown_rpc.client_side import ShutdownClient
from shutdown_rpc.client_side.fleet import RoomOutcome, RoomStatus, WebhookListener, end_fleet

from .conftest import KEY
from .fake_livekit import API_KEY, API_SECRET, FakeLiveKit, agent
from .test_fleet import event_body, signed_post


async def collect(gen: object) -> dict[str, RoomOutcome]:
    return {o.room: o async for o in gen}  # type: ignore[attr-defined]


async def test_a_room_the_request_cannot_name_fails_alone(
    fake: tuple[FakeLiveKit, str], client: ShutdownClient
) -> None:
    server, _ = fake
    too_long = "r" * 257  # a request carries at most 256 bytes of room name
    for room in ("before", too_long, "after"):
        server.add(room, agent(f"agent-{len(room)}", [KEY]))
    outcomes = await collect(end_fleet(client, ["before", too_long, "after"], concurrency=1))
    assert outcomes["before"].status is RoomStatus.ACKNOWLEDGED
    assert outcomes["after"].status is RoomStatus.ACKNOWLEDGED  # asked although the room before it failed
    failed = outcomes[too_long]
    assert failed.status is RoomStatus.FAILED
    assert failed.error is not None and "room" in failed.error.message
    assert server.rooms[too_long][f"agent-{len(too_long)}"].payloads == []


async def post(http: aiohttp.ClientSession, hooks: WebhookListener, body: bytes) -> None:
    async with http.post(hooks.url, data=body, headers=signed_post(body)) as resp:
        assert resp.status == 200


async def status_after_a_remembered_webhook(
    client: ShutdownClient, room: str, remembered: bytes, before_asking: Callable[[], None] = lambda: None
) -> RoomStatus:
    """The room's fleet status when the listener had received ``remembered`` before the request was made."""
    async with WebhookListener(API_KEY, API_SECRET) as hooks, aiohttp.ClientSession() as http:
        await post(http, hooks, remembered)
        before_asking()
        outcomes = await collect(end_fleet(client, [room], confirm_timeout=0.05, departures=hooks))
    return outcomes[room].status


async def test_an_earlier_agents_departure_never_confirms_a_new_one(
    fake: tuple[FakeLiveKit, str], client: ShutdownClient
) -> None:
    server, _ = fake
    earlier = agent("agent-1", [KEY])
    server.add("room-1", earlier)

    def new_job_same_identity() -> None:  # it acknowledges and stays
        server.rooms["room-1"]["agent-1"] = agent("agent-1", [KEY])

    left = event_body("participant_left", "room-1", "agent-1", participant_sid=earlier.sid)
    status = await status_after_a_remembered_webhook(client, "room-1", left, new_job_same_identity)
    assert status is RoomStatus.STILL_PRESENT


async def test_an_earlier_room_of_the_same_name_finishing_never_confirms(
    fake: tuple[FakeLiveKit, str], client: ShutdownClient
) -> None:
    server, _ = fake
    server.add("room-2", agent("agent-2", [KEY]))
    finished = event_body("room_finished", "room-2", room_sid=server.room_sids["room-2"])

    def room_created_again() -> None:
        del server.rooms["room-2"]
        server.add("room-2", agent("agent-2", [KEY]))

    status = await status_after_a_remembered_webhook(client, "room-2", finished, room_created_again)
    assert status is RoomStatus.STILL_PRESENT


async def test_only_a_departure_created_after_the_request_confirms(
    fake: tuple[FakeLiveKit, str], client: ShutdownClient
) -> None:
    server, _ = fake
    running = agent("agent-3", [KEY])
    server.add("room-3", running)
    # signed by the server, about this very participant, but from long ago: not about this request
    old = event_body("participant_left", "room-3", "agent-3", participant_sid=running.sid, created_at=1)
    assert await status_after_a_remembered_webhook(client, "room-3", old) is RoomStatus.STILL_PRESENT


async def test_the_asked_participants_own_departure_confirms_without_an_api_check(
    fake: tuple[FakeLiveKit, str], client: ShutdownClient
) -> None:
    server, _ = fake
    asked = agent("agent-4", [KEY])
    server.add("room-4", asked)
    async with WebhookListener(API_KEY, API_SECRET) as hooks, aiohttp.ClientSession() as http:
        answer = asked.answer
        posted: list[asyncio.Task[None]] = []

        def answer_then_leave(room: str, payload: str) -> str:
            reply = answer(room, payload)
            del server.rooms[room]["agent-4"]
            left = event_body("participant_left", room, "agent-4", participant_sid=asked.sid)
            posted.append(asyncio.get_running_loop().create_task(post(http, hooks, left)))
            return reply

        setattr(asked, "answer", answer_then_leave)
        outcomes = await collect(end_fleet(client, ["room-4"], confirm_timeout=30, departures=hooks))
        await asyncio.gather(*posted)
    assert outcomes["room-4"].status is RoomStatus.ENDED
    assert server.calls.get("GetParticipant", 0) == 0  # the webhook confirmed it, not the fallback check


async def test_a_replayed_webhook_counts_once(fake: tuple[FakeLiveKit, str]) -> None:
    async with WebhookListener(API_KEY, API_SECRET) as hooks, aiohttp.ClientSession() as http:
        body = event_body("participant_left", "room-5", "agent-5", participant_sid="PA_5", event_id="EV_same")
        for _ in range(3):
            await post(http, hooks, body)
    assert (hooks.received, hooks.replayed) == (1, 2)


async def test_polling_confirms_the_asked_participant_left_even_if_a_namesake_took_its_place(
    fake: tuple[FakeLiveKit, str], client: ShutdownClient
) -> None:
    server, _ = fake
    asked = agent("agent-6", [KEY])
    server.add("room-6", asked)
    answer = asked.answer

    def answer_then_replaced(room: str, payload: str) -> str:
        reply = answer(room, payload)
        server.rooms[room]["agent-6"] = agent("agent-6", [KEY])  # a new connection under the same identity
        return reply

    setattr(asked, "answer", answer_then_replaced)
    outcomes = await collect(end_fleet(client, ["room-6"], confirm_timeout=5))
    assert outcomes["room-6"].status is RoomStatus.ENDED
