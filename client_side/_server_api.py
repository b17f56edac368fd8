"""Backends outside the room: shut an agent down through the server API (RoomService.PerformRpc), never joining.

livekit-api 1.2.2 has the PerformRpc messages but no method for them, so :func:`perform_rpc` calls the RPC on
livekit-api's own Twirp client with its own auth header (a ``room_admin`` token for the room). Credentials and
URL are read exactly as :class:`livekit.api.LiveKitAPI` reads them (arguments, else LIVEKIT_URL,
LIVEKIT_API_KEY, LIVEKIT_API_SECRET, or LIVEKIT_TOKEN), so pointing the client at any server is just its URL.

How livekit-server 1.13 answers PerformRpc (checked against the real server): an RpcError from the handler
comes back as a Twirp error whose message holds ``RpcError <code>: <message>[: <data>]`` (application codes,
ours included, as ``internal``/500; 1400 ``invalid_argument``; 1502 ``canceled``); a destination that is not
there (absent participant, absent room, or one that left mid-call) gives ``unavailable`` "no response from
servers"; a response timeout of 0 is capped by the server's 15 s internal deadline (``deadline_exceeded``).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Awaitable
from types import TracebackType
from typing import TypeVar

import aiohttp
from livekit import api

from shutdown_rpc.protocol import METHOD_NAME, RECEIPT_METHOD, ShutdownOptions, SigningKey

from ._agent_discovery import Candidate, pick_all_agents, pick_one_agent
from ._caller import ShutdownCaller
from ._delivery import DEFAULT_TIMEOUT_S, Channel, FailureKind, Presence, RetryPolicy, RpcFailure
from ._outcomes import RoomNotFound, ShutdownFailed, ShutdownResult, TransportError
from ._receipts import flush_receipts
from ._server_errors import check_server_url, explain_http_status, explain_unreachable, split_rpc_error_text

DEFAULT_EXIT_POLL_S = 0.25
# The server needs a little longer than the response timeout to answer with 1502 itself (it measured ~2x).
_HTTP_MARGIN_S = 3.0
_RPC_ERROR = re.compile(r"RpcError (\d+): (.*)", re.DOTALL)
_SERVICE = "RoomService"
_T = TypeVar("_T")


def parse_server_error(error: api.ServerError, url: str = "") -> RpcFailure:
    """Classify a Twirp error of PerformRpc: the embedded LiveKit RPC error if any, else by Twirp code.

    ``url`` (the server's) makes the message of a configuration error (HTTP 401/403/404) say what to fix.
    """
    message = error.message
    match = _RPC_ERROR.search(message)
    if match:
        text, data = split_rpc_error_text(match.group(2))
        return RpcFailure(text, rpc_code=int(match.group(1)), data=data, transport_code=error.code)
    code = error.code
    what = f"server error {code} ({error.status}): {message}"
    if code in (api.ServerErrorCode.UNAUTHENTICATED, api.ServerErrorCode.PERMISSION_DENIED) or (
        error.status in (401, 403) and code == api.ServerErrorCode.UNKNOWN
    ):
        status = 403 if code == api.ServerErrorCode.PERMISSION_DENIED else error.status
        return RpcFailure(explain_http_status(url, status) or what, transport_code=code)
    if error.status == 404 and code == api.ServerErrorCode.UNKNOWN:
        # not a Twirp not_found (no such room or participant): no Twirp service at this URL at all
        return RpcFailure(explain_http_status(url, 404) or what, transport_code=code)
    if code == api.ServerErrorCode.NOT_FOUND:
        return RpcFailure(what, kind=FailureKind.NOT_FOUND, transport_code=code)
    if code == api.ServerErrorCode.UNAVAILABLE:
        # livekit-server answers "no response from servers" when the destination left during the call.
        return RpcFailure(what, kind=FailureKind.DESTINATION_GONE, transport_code=code)
    if code in (api.ServerErrorCode.DEADLINE_EXCEEDED, api.ServerErrorCode.CANCELED):
        return RpcFailure(what, kind=FailureKind.UNANSWERED, transport_code=code)
    if error.status >= 500:
        return RpcFailure(what, kind=FailureKind.TRANSIENT, transport_code=code)
    return RpcFailure(what, transport_code=code)


async def perform_rpc(
    lkapi: api.LiveKitAPI,
    *,
    room: str,
    destination_identity: str,
    method: str,
    payload: str,
    response_timeout_s: float,
    timeout_s: float,
) -> str:
    """RoomService.PerformRpc on livekit-api's client and auth. Raises :class:`RpcFailure` on any failure."""
    request = api.PerformRpcRequest(
        room=room,
        destination_identity=destination_identity,
        method=method,
        payload=payload,
        response_timeout_ms=int(response_timeout_s * 1000),
    )
    service = lkapi.room
    headers = service._auth_header(api.VideoGrants(room_admin=True, room=room))
    try:
        response = await service._client.request(
            _SERVICE,
            "PerformRpc",
            request,
            headers,
            api.PerformRpcResponse,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        )
    except api.ServerError as error:
        raise parse_server_error(error, server_url(lkapi)) from None
    except (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError) as exc:
        # Refused or dropped before an answer: for a connect error nothing was sent.
        kind = FailureKind.TRANSIENT if isinstance(exc, aiohttp.ClientConnectorError) else FailureKind.UNANSWERED
        raise RpcFailure(explain_unreachable(server_url(lkapi), exc), kind=kind) from None
    except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
        raise RpcFailure(
            f"no answer from the LiveKit server: {type(exc).__name__}", kind=FailureKind.UNANSWERED
        ) from None
    return response.payload


def server_url(lkapi: api.LiveKitAPI) -> str:
    """The server URL ``lkapi`` talks to (livekit-api keeps it on its Twirp client, as http/https)."""
    return str(lkapi.room._client.host)


class ServerChannel:
    """A :class:`~.delivery.Channel` to one agent through the server API (for relaying a given payload)."""

    def __init__(self, client: ShutdownClient, room: str, agent: str) -> None:
        self._client = client
        self._room = room
        self._agent = agent

    async def call(self, payload: str, *, response_timeout_s: float, timeout_s: float) -> str:
        http_timeout = min(timeout_s, 2 * response_timeout_s) + _HTTP_MARGIN_S
        return await perform_rpc(
            self._client.api,
            room=self._room,
            destination_identity=self._agent,
            method=METHOD_NAME,
            payload=payload,
            response_timeout_s=response_timeout_s,
            timeout_s=http_timeout,
        )

    async def receipt(self, request_id: str, *, timeout_s: float) -> None:
        await perform_rpc(
            self._client.api,
            room=self._room,
            destination_identity=self._agent,
            method=RECEIPT_METHOD,
            payload=request_id,
            response_timeout_s=timeout_s,
            timeout_s=timeout_s + _HTTP_MARGIN_S,
        )

    async def presence(self, *, timeout_s: float) -> Presence:
        try:
            return await asyncio.wait_for(self._client.presence(self._room, self._agent), timeout_s)
        except (asyncio.TimeoutError, ShutdownFailed):
            return Presence.UNKNOWN


class ShutdownClient(ShutdownCaller):
    """Ask agents to end their jobs through the LiveKit server API (the backend never joins the room).

    ``signing_key=None`` sends unsigned requests (only agents whose policy allows it accept them).
    Use as ``async with ShutdownClient(key, issuer="billing") as client: await client.shutdown("room-1")``.
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
        request_lifetime_s: int = 60,
    ) -> None:
        """``lkapi``: an existing client to reuse (not closed here); else one is built from url/key/secret/env.

        A client built here has livekit-api's region failover off: retries are this client's, inside one deadline.
        """
        super().__init__(signing_key, issuer=issuer, retry=retry, request_lifetime_s=request_lifetime_s)
        self._owns_api = lkapi is None
        if lkapi is None:
            if url or os.environ.get("LIVEKIT_URL"):
                check_server_url(url or os.environ["LIVEKIT_URL"])
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
        listing = await _room_call(self.api.room.list_rooms(api.ListRoomsRequest(names=[room])), self.url, room)
        return any(r.name == room for r in listing.rooms)

    async def list_agents(self, room: str, *, all_agents: bool = True) -> tuple[str, ...]:
        """Identities of the room's agents (see agent_discovery). RoomNotFound / AgentNotFound / SeveralAgents."""
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
        if all_agents:
            return pick_all_agents(candidates, room)
        return (pick_one_agent(candidates, room),)

    async def presence(self, room: str, agent: str) -> Presence:
        """Whether ``agent`` is in ``room`` now (GetParticipant, then ListRooms when it is not found)."""
        try:
            info = await self.api.room.get_participant(api.RoomParticipantIdentity(room=room, identity=agent))
        except api.ServerError as error:
            if error.code != api.ServerErrorCode.NOT_FOUND:
                raise _api_error(error, self.url, room, agent) from None
        except (asyncio.TimeoutError, aiohttp.ClientError):
            return Presence.UNKNOWN
        else:
            if info.state != api.ParticipantInfo.State.DISCONNECTED:
                return Presence.PRESENT
        return Presence.AGENT_GONE if await self.room_exists(room) else Presence.ROOM_GONE

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
        *,
        agent: str | None = None,
        reason: str = "",
        drain: bool = False,
        grace_ms: int = 0,
        delete_room: bool = False,
        timeout: float = DEFAULT_TIMEOUT_S,
        wait_for_exit: float | None = None,
        request_id: str | None = None,
    ) -> ShutdownResult:
        """Ask one agent of ``room`` to end its job; with ``agent=None`` the room's only agent.

        Returns the acknowledgement (``wait_for_exit=seconds`` also sets ``agent_left``); raises a
        :class:`ShutdownFailed` subclass otherwise. ``timeout`` bounds the call, retries included.
        """
        options = ShutdownOptions(drain=drain, grace_ms=grace_ms, delete_room=delete_room)
        return await self._shutdown(room, agent, reason, options, timeout, wait_for_exit, request_id)

    async def shutdown_all(
        self,
        room: str,
        *,
        reason: str = "",
        drain: bool = False,
        grace_ms: int = 0,
        delete_room: bool = False,
        timeout: float = DEFAULT_TIMEOUT_S,
        wait_for_exit: float | None = None,
    ) -> dict[str, ShutdownResult | ShutdownFailed]:
        """Ask every agent of ``room`` to end its job, one request each (concurrently); outcome per identity.

        Raises RoomNotFound / AgentNotFound / TransportError only when no request could be sent at all.
        """
        options = ShutdownOptions(drain=drain, grace_ms=grace_ms, delete_room=delete_room)
        return await self._shutdown_all(room, reason, options, timeout, wait_for_exit)

    # -- what ShutdownCaller needs ----------------------------------------------------------------------------

    def _channel(self, room: str, agent: str) -> Channel:
        return ServerChannel(self, room, agent)

    async def _agents(self, room: str, *, all_agents: bool) -> tuple[str, ...]:
        return await self.list_agents(room, all_agents=all_agents)

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
