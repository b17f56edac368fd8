"""Which agent a fleet confirmation is about: the very participant and room that were asked, not a name.

A room name and an agent identity can be used again: a room deleted and created anew, an agent's job restarted
with the same identity. A departure (a webhook, remembered or replayed, or a presence poll) counts for an
:class:`AgentSession` only when it is about the same participant sid (one connection of one participant) or the
same room sid (one life of a room), and, for a webhook, when it was created no earlier than the request.

The session is read from the server right before the requests go out (ListRooms for the room's sid,
ListParticipants for the agents' sids). Not told apart: an agent replaced by another of the same identity in the
milliseconds between that listing and the request itself.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp
from livekit import api

from ._outcomes import ShutdownFailed
from ._server_api import DEFAULT_EXIT_POLL_S, ShutdownClient, _room_call

# A webhook's created_at is the server's clock in whole seconds, the session's asked_at the caller's: an event
# this much older than the request still counts (second rounding). A caller whose clock runs ahead of the
# server's by more sees real departures as too old, and falls back to one API check: slower, never wrong.
CLOCK_SLACK_S = 1


@dataclass(frozen=True)
class AgentSession:
    """One agent participant as the server listed it right before it was asked to end its job.

    ``participant_sid`` / ``room_sid``: the server's ids of that participant's connection and of that room's
    life ("" when the server gave none); ``asked_at``: the caller's wall clock then (seconds).
    """

    room: str
    identity: str
    participant_sid: str
    room_sid: str
    asked_at: float

    def counts(self, created_at: int | None) -> bool:
        """Whether a departure event remembered with ``created_at`` (None: none remembered) is about this session:
        created no earlier than the request (0: the event carried no time, the sid alone decides)."""
        if created_at is None:
            return False
        return created_at == 0 or created_at >= int(self.asked_at) - CLOCK_SLACK_S


async def agent_sessions(client: ShutdownClient, room: str) -> dict[str, AgentSession]:
    """The room's connected participants by identity, each bound to its participant sid and the room's sid.

    TransportError (a ShutdownFailed) when the server cannot be asked.
    """
    rooms = await _room_call(client.api.room.list_rooms(api.ListRoomsRequest(names=[room])), client.url, room)
    room_sid = next((r.sid for r in rooms.rooms if r.name == room), "")
    listing = await _room_call(
        client.api.room.list_participants(api.ListParticipantsRequest(room=room)), client.url, room
    )
    asked_at = time.time()
    return {
        p.identity: AgentSession(room, p.identity, p.sid, room_sid, asked_at)
        for p in listing.participants
        if p.state != api.ParticipantInfo.State.DISCONNECTED
    }


async def still_there(client: ShutdownClient, session: AgentSession) -> bool | None:
    """Whether the session's participant is still connected (GetParticipant): False once it is gone, or once
    another participant of the same identity is there in its place; None when the server cannot tell now."""
    request = api.RoomParticipantIdentity(room=session.room, identity=session.identity)
    try:
        info = await client.api.room.get_participant(request)
    except api.ServerError as error:
        return False if error.code == api.ServerErrorCode.NOT_FOUND else None
    except (asyncio.TimeoutError, aiohttp.ClientError):
        return None
    if info.state == api.ParticipantInfo.State.DISCONNECTED:
        return False
    return not session.participant_sid or info.sid == session.participant_sid


class PollingDepartures:
    """Departures through the server API: poll the session's participant until it is gone."""

    def __init__(self, client: ShutdownClient, poll_s: float = DEFAULT_EXIT_POLL_S) -> None:
        self._client = client
        self._poll_s = poll_s

    async def wait_gone(self, session: AgentSession, *, timeout: float) -> bool:
        """True once the session's participant is gone, False if still there (or unknown) after ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if await self.gone_now(session, timeout=max(deadline - loop.time(), 0.5)):
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(self._poll_s, remaining))

    async def gone_now(self, session: AgentSession, *, timeout: float = 5.0) -> bool:
        """One check: True when the session's participant is gone now; False when present or unknown."""
        try:
            there = await asyncio.wait_for(still_there(self._client, session), timeout)
        except (asyncio.TimeoutError, ShutdownFailed):
            return False
        return there is False
