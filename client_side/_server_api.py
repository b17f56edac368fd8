"""Backends outside the room: shut an agent down through the server API (RoomService.PerformRpc), never joining.

Each attempt is one PerformRpc (``_perform_rpc``); the room's state (its agents, whether one is still there)
comes from RoomService's ListParticipants / GetParticipant / ListRooms. Credentials and URL are read exactly as
:class:`livekit.api.LiveKitAPI` reads them (arguments, else LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET, or
LIVEKIT_TOKEN).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable
from types import TracebackType
from typing import TypeVar

import aiohttp
from livekit import api

from shutdown_rpc.protocol import SigningKey
from shutdown_rpc.protocol.wire import METHOD_NAME, RECEIPT_METHOD_NAME, Ending

from ._agent_discovery import Candidate, pick_all_agents, pick_one_agent
from ._caller import ShutdownCaller
from ._command import ShutdownCommand
from ._delivery import DEFAULT_TIMEOUT_S, Channel, FailureKind, Presence, RetryPolicy
from ._outcomes import RoomNotFound, ShutdownFailed, ShutdownResult, TransportError
from ._perform_rpc import parse_server_error, perform_rpc, server_url
from ._receipts import flush_receipts
from ._server_errors import check_server_url, explain_unreachable

DEFAULT_EXIT_POLL_S = 0.25
# The server needs a little longer than the response timeout to answer with 1502 itself (it measured ~2x).
_HTTP_MARGIN_S = 3.0
_T = TypeVar("_T")


class ServerChannel:
    """A :class:`~._delivery.Channel` to one agent through the server API of ``lkapi``."""

    def __init__(self, lkapi: api.LiveKitAPI, room: str, agent: str) -> None:
        self._api = lkapi
        self._room = room
        self._agent = agent

    async def call(self, payload: str, *, response_timeout_s: float, timeout_s: float) -> str:
        http_timeout = min(timeout_s, 2 * response_timeout_s) + _HTTP_MARGIN_S
        return await perform_rpc(
            self._api,
            room=self._room,
            destination_identity=self._agent,
            method=METHOD_NAME,
            payload=payload,
            response_timeout_s=response_timeout_s,
            timeout_s=http_timeout,
        )

    async def receipt(self, receipt_token: str, *, timeout_s: float) -> None:
        await perform_rpc(
            self._api,
            room=self._room,
            destination_identity=self._agent,
            method=RECEIPT_METHOD_NAME,
            payload=receipt_token,
            response_timeout_s=timeout_s,
            timeout_s=timeout_s + _HTTP_MARGIN_S,
        )

    async def presence(self, *, timeout_s: float) -> Presence:
        try:
            return await asyncio.wait_for(participant_presence(self._api, self._room, self._agent), timeout_s)
        except (asyncio.TimeoutError, ShutdownFailed):
            return Presence.UNKNOWN

    def announced_ending(self) -> Ending | None:
        # Once the agent has left, the server lists it no more: its ending attributes are not to be seen here.
        return None


def unset_settings(url: str | None, api_key: str | None, api_secret: str | None) -> str | None:
    """Which of the server API's settings are missing, by name (None when all are there, or LIVEKIT_TOKEN is)."""
    env = os.environ
    settings = [
        ("LIVEKIT_URL", url or env.get("LIVEKIT_URL"), "url= / --url"),
        ("LIVEKIT_API_KEY", api_key or env.get("LIVEKIT_API_KEY"), "api_key= / --api-key"),
        ("LIVEKIT_API_SECRET", api_secret or env.get("LIVEKIT_API_SECRET"), "api_secret=; the CLI: environment only"),
    ]
    if env.get("LIVEKIT_TOKEN") and settings[0][1]:
        return None  # livekit-api's own pre-signed token
    missing = [f"{name} is not set (or {alternative})" for name, value, alternative in settings if not value]
    return "; ".join(missing) or None


async def room_exists(lkapi: api.LiveKitAPI, room: str) -> bool:
    """Whether the server knows the room (ListRooms). TransportError on API failure."""
    listing = await _room_call(lkapi.room.list_rooms(api.ListRoomsRequest(names=[room])), server_url(lkapi), room)
    return any(r.name == room for r in listing.rooms)


async def participant_presence(lkapi: api.LiveKitAPI, room: str, agent: str) -> Presence:
    """Whether ``agent`` is in ``room`` now (GetParticipant, then ListRooms when it is not found)."""
    try:
        info = await lkapi.room.get_participant(api.RoomParticipantIdentity(room=room, identity=agent))
    except api.ServerError as error:
        if error.code != api.ServerErrorCode.NOT_FOUND:
            raise _api_error(error, server_url(lkapi), room, agent) from None
    except (asyncio.TimeoutError, aiohttp.ClientError):
        return Presence.UNKNOWN
    else:
        if info.state != api.ParticipantInfo.State.DISCONNECTED:
            return Presence.PRESENT
    return Presence.AGENT_GONE if await room_exists(lkapi, room) else Presence.ROOM_GONE


class ShutdownClient(ShutdownCaller):
    """Ask agents to end their jobs through the LiveKit server API (the backend never joins the room).

    ``signing_key=None`` sends unsigned requests (only agents whose policy allows it accept them). Use as
    ``async with ShutdownClient(key, issuer="billing") as client: await client.shutdown("room-1", command)``.
    """

    def __init__(
        self,
        signing_key: SigningKey | None,
        *,
        issuer: str,
        url: str | None = None,
        api_key: str | None = None,
        api_secret: str | None = None,
        lkapi: api.LiveKitAPI | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        """``lkapi``: an existing client to reuse (not closed here); else one is built from url/key/secret/env.

        A client built here has livekit-api's region failover off: retries are this client's, inside one deadline.
        """
        super().__init__(signing_key, issuer=issuer, retry=retry)
        self._owns_api = lkapi is None
        if lkapi is None:
            if url or os.environ.get("LIVEKIT_URL"):
                check_server_url(url or os.environ["LIVEKIT_URL"])
            unset = unset_settings(url, api_key, api_secret)
            if unset:
                raise ValueError(f"LiveKit server API: {unset}")
            try:
                lkapi = api.LiveKitAPI(url, api_key, api_secret, failover=False)
            except ValueError as exc:
                raise ValueError(
                    f"LiveKit server API: {exc} (LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET)"
                ) from None
        self.api = lkapi
        self.url = server_url(lkapi)

    async def aclose(self) -> None:
        """Close the livekit-api client if this object created it (after the receipts still being sent)."""
        if self._owns_api:
            await flush_receipts()
            await self.api.aclose()

    async def __aenter__(self) -> ShutdownClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- room state -------------------------------------------------------------------------------------------

    async def room_exists(self, room: str) -> bool:
        """Whether the server knows the room (ListRooms). TransportError on API failure."""
        return await room_exists(self.api, room)

    async def list_agents(self, room: str) -> tuple[str, ...]:
        """Identities of the room's agents (see agent_discovery). RoomNotFound / AgentNotFound."""
        return pick_all_agents(await self._candidates(room), room)

    async def _candidates(self, room: str) -> list[Candidate]:
        """The room's connected participants; RoomNotFound when the room does not exist."""
        request = api.ListParticipantsRequest(room=room)
        listing = await _room_call(self.api.room.list_participants(request), self.url, room)
        candidates = [
            Candidate(p.identity, int(p.kind), dict(p.attributes))
            for p in listing.participants
            if p.state != api.ParticipantInfo.State.DISCONNECTED
        ]
        # The server lists no participants for a room that does not exist: tell the two apart.
        if not candidates and not await self.room_exists(room):
            raise RoomNotFound(f"room {room!r} does not exist", room=room)
        return candidates

    async def presence(self, room: str, agent: str) -> Presence:
        """Whether ``agent`` is in ``room`` now (GetParticipant, then ListRooms when it is not found)."""
        return await participant_presence(self.api, room, agent)

    async def wait_for_exit(
        self, room: str, agent: str, *, timeout: float, poll_s: float = DEFAULT_EXIT_POLL_S
    ) -> bool:
        """True once ``agent`` has left ``room`` (or the room is gone), False if still there after ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            try:
                presence = await asyncio.wait_for(self.presence(room, agent), max(remaining, 0.5))
            except (asyncio.TimeoutError, ShutdownFailed):
                presence = Presence.UNKNOWN
            if presence in (Presence.AGENT_GONE, Presence.ROOM_GONE):
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(poll_s, remaining))

    # -- shutdown ---------------------------------------------------------------------------------------------

    async def shutdown(
        self,
        room: str,
        command: ShutdownCommand | None = None,
        *,
        agent: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        wait_for_exit: float | None = None,
    ) -> ShutdownResult:
        """Ask one agent of ``room`` to end its job as ``command`` says; with ``agent=None`` the room's only agent.

        Returns the acknowledgement (``wait_for_exit=seconds`` also sets ``agent_left``); raises a
        :class:`ShutdownFailed` subclass otherwise. ``timeout`` bounds the call, retries included.
        """
        return await self._shutdown(room, agent, command or ShutdownCommand(), timeout, wait_for_exit)

    async def shutdown_all(
        self,
        room: str,
        command: ShutdownCommand | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        wait_for_exit: float | None = None,
    ) -> dict[str, ShutdownResult | ShutdownFailed]:
        """Ask every agent of ``room`` to end its job, one request each (concurrently); outcome per identity.

        Raises RoomNotFound / AgentNotFound / TransportError only when no request could be sent at all.
        """
        return await self._shutdown_all(room, command or ShutdownCommand(), timeout, wait_for_exit)

    # -- what ShutdownCaller needs ----------------------------------------------------------------------------

    def _channel(self, room: str, agent: str) -> Channel:
        return ServerChannel(self.api, room, agent)

    async def _all_agents(self, room: str) -> tuple[str, ...]:
        return await self.list_agents(room)

    async def _only_agent(self, room: str) -> str:
        return pick_one_agent(await self._candidates(room), room)

    async def _agent_left(self, room: str, agent: str, *, timeout: float) -> bool:
        return await self.wait_for_exit(room, agent, timeout=timeout)


def _api_error(error: api.ServerError, url: str, room: str, agent: str | None = None) -> ShutdownFailed:
    failure = parse_server_error(error, url)
    retryable = failure.kind in (FailureKind.TRANSIENT, FailureKind.UNANSWERED)
    return TransportError(failure.message, retryable=retryable, code=error.code, room=room, agent=agent)


async def _room_call(call: Awaitable[_T], url: str, room: str) -> _T:
    """Await one RoomService call about ``room``; any failure as TransportError (retryable when transient)."""
    try:
        return await call
    except api.ServerError as error:
        raise _api_error(error, url, room) from None
    except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
        raise TransportError(explain_unreachable(url, exc), retryable=True, room=room) from None
