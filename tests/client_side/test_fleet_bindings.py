"""Issue 23 #1-#2: the fleet's confirmations are bound to the very participant and room that acknowledged, and
one room's failure is that room's outcome."""

from __future__ import annotations

from shutdown_rpc.client_side import ShutdownClient
from shutdown_rpc.client_side.fleet import RoomOutcome, RoomStatus, end_fleet

from .conftest import KEY
from .fake_livekit import FakeLiveKit, agent


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
