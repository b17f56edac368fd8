"""Client side: ask a LiveKit Agents job to shut down, from a backend (server API) or from inside the room.

What is asked is one :class:`ShutdownCommand` (reason, drain, grace, delete_room, lifetime, request id), taken by
every way of sending: :class:`ShutdownClient` (RoomService.PerformRpc, the backend never joins),
:class:`RoomShutdownCaller` (a connected ``rtc.Room``) and :func:`mint_request` (a :class:`SignedPayload` for a
frontend to relay). Outcomes are typed: :class:`ShutdownResult`, or a :class:`ShutdownFailed` subclass. Keys
come from :func:`load_signing_key`; retries follow a :class:`RetryPolicy`. Many rooms at once (operators):
:mod:`shutdown_rpc.client_side.fleet`. The ``shutdown-rpc`` CLI is built on these.
"""

# ruff: noqa: E402 - the extra check runs before any import that needs the extra
from shutdown_rpc._extras import require_extra

require_extra("shutdown_rpc.client_side", "client", ("livekit.api", "livekit.rtc", "aiohttp"))

from ._command import ShutdownCommand
from ._delivery import RetryPolicy
from ._key_files import load_signing_key
from ._minting import SignedPayload, mint_request
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
from ._participant import RoomShutdownCaller
from ._server_api import ShutdownClient

__all__ = [
    "AgentLeftBeforeReply",
    "AgentNotFound",
    "CallerHidden",
    "NotSupported",
    "Refused",
    "RetryPolicy",
    "RoomNotFound",
    "RoomShutdownCaller",
    "SeveralAgents",
    "ShutdownClient",
    "ShutdownCommand",
    "ShutdownFailed",
    "ShutdownResult",
    "SignedPayload",
    "Timeout",
    "TransportError",
    "load_signing_key",
    "mint_request",
]
