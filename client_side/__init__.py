"""Client side: ask a LiveKit Agents job to shut down, from a backend (server API) or from inside the room.

Main entry points: :class:`ShutdownClient` (RoomService.PerformRpc, the backend never joins),
:class:`RoomShutdownCaller` (a connected ``rtc.Room``), :func:`mint_request` (payloads for frontends to relay),
the typed outcomes (:class:`ShutdownResult`, :class:`ShutdownFailed` and its subclasses), key loading
(:func:`load_signing_key`), and the ``shutdown-rpc`` CLI (``shutdown_rpc.client_side._cli``). A custom transport
implements :class:`Channel` and reports :class:`RpcFailure`.
"""

# ruff: noqa: E402 - the extra check runs before any import that needs the extra
from shutdown_rpc._extras import require_extra

require_extra("shutdown_rpc.client_side", "client", ("livekit.api", "livekit.rtc", "aiohttp"))

from ._delivery import DEFAULT_TIMEOUT_S, Channel, FailureKind, Presence, RetryPolicy, RpcFailure, deliver
from ._key_files import load_key, load_signing_key, write_key_file
from ._minting import DEFAULT_MINT_LIFETIME_S, MAX_MINT_LIFETIME_S, SignedPayload, make_payload, mint_request
from ._outcomes import (
    AgentLeftBeforeReply,
    AgentNotFound,
    CallerHidden,
    NotSupported,
    Refused,
    RoomNotFound,
    SeveralAgents,
    ShutdownFailed,
    ShutdownResult,
    Timeout,
    TransportError,
)
from ._participant import RoomChannel, RoomShutdownCaller
from ._server_api import ServerChannel, ShutdownClient, perform_rpc

__all__ = [
    "DEFAULT_MINT_LIFETIME_S",
    "DEFAULT_TIMEOUT_S",
    "MAX_MINT_LIFETIME_S",
    "AgentLeftBeforeReply",
    "AgentNotFound",
    "CallerHidden",
    "Channel",
    "FailureKind",
    "NotSupported",
    "Presence",
    "Refused",
    "RetryPolicy",
    "RoomChannel",
    "RoomNotFound",
    "RoomShutdownCaller",
    "RpcFailure",
    "ServerChannel",
    "SeveralAgents",
    "ShutdownClient",
    "ShutdownFailed",
    "ShutdownResult",
    "SignedPayload",
    "Timeout",
    "TransportError",
    "deliver",
    "load_key",
    "load_signing_key",
    "make_payload",
    "mint_request",
    "perform_rpc",
    "write_key_file",
]
