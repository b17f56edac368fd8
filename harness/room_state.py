"""What the server says about a room right now (RoomService queries used by tests, the demo and benchmarks)."""

from __future__ import annotations

from livekit import api


async def room_exists(lkapi: api.LiveKitAPI, room: str) -> bool:
    """Whether the server has a room named ``room``."""
    rooms = await lkapi.room.list_rooms(api.ListRoomsRequest(names=[room]))
    return any(r.name == room for r in rooms.rooms)


async def identities(lkapi: api.LiveKitAPI, room: str) -> list[str]:
    """The identities of the participants in ``room``, sorted."""
    res = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
    return sorted(p.identity for p in res.participants)
