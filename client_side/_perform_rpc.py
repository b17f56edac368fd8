"""RoomService.PerformRpc, which livekit-api has messages for but no method: one call, its failures classified.

The one place that reaches into livekit-api's private attributes (:func:`_twirp_request`, :func:`server_url`),
checked against livekit-api 1.2.2: ``RoomService._auth_header`` (a token for the given grants) and
``RoomService._client`` (its Twirp client: ``request`` and ``host``). Credentials and URL are read exactly as
:class:`livekit.api.LiveKitAPI` reads them, so pointing a client at any server is just its URL.

How livekit-server 1.13 answers PerformRpc (checked against the real server): an RpcError from the handler
comes back as a Twirp error whose message holds ``RpcError <code>: <message>[: <data>]`` (application codes,
ours included, as ``internal``/500; 1400 ``invalid_argument``; 1502 ``canceled``); a destination that is not
there (absent participant, absent room, or one that left mid-call) gives ``unavailable`` "no response from
servers"; a response timeout of 0 is capped by the server's 15 s internal deadline (``deadline_exceeded``).
"""

from __future__ import annotations

import asyncio
import re

import aiohttp
from livekit import api

from ._delivery import FailureKind, RpcFailure
from ._server_errors import explain_http_status, explain_unreachable, split_rpc_error_text

_RPC_ERROR = re.compile(r"RpcError (\d+): (.*)", re.DOTALL)
_SERVICE = "RoomService"


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
    try:
        response = await _twirp_request(lkapi, request, timeout_s)
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


async def _twirp_request(
    lkapi: api.LiveKitAPI, request: api.PerformRpcRequest, timeout_s: float
) -> api.PerformRpcResponse:
    """PerformRpc on livekit-api 1.2.2's own Twirp client, with its auth header (a room_admin token for the room)."""
    service = lkapi.room
    headers = service._auth_header(api.VideoGrants(room_admin=True, room=request.room))
    return await service._client.request(
        _SERVICE,
        "PerformRpc",
        request,
        headers,
        api.PerformRpcResponse,
        timeout=aiohttp.ClientTimeout(total=timeout_s),
    )


def server_url(lkapi: api.LiveKitAPI) -> str:
    """The server URL ``lkapi`` talks to (livekit-api 1.2.2 keeps it on its Twirp client, as http/https)."""
    return str(lkapi.room._client.host)
