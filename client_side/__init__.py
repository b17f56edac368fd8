"""Client side: ask a LiveKit Agents job to shut down, from a backend (server API) or from inside the room.

Main entry points: :class:`ShutdownClient` (RoomService.PerformRpc, the backend never joins),
:class:`RoomShutdownCaller` (a connected ``rtc.Room``), :func:`mint_request` (payloads for frontends to relay),
the outcomes in :mod:`.outcomes`, and the ``shutdown-rpc`` CLI (:mod:`.cli`).
"""

from ._key_files import load_key, load_signing_key
from .delivery import Channel, RetryPolicy, deliver
from .minting import MAX_MINT_LIFETIME_S, SignedPayload, make_payload, mint_request
from .outcomes import (
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
from .participant import RoomChannel, RoomShutdownCaller
from .server_api import ServerChannel, ShutdownClient

__all__ = [
    "MAX_MINT_LIFETIME_S",
    "AgentLeftBeforeReply",
    "AgentNotFound",
    "CallerHidden",
    "Channel",
    "NotSupported",
    "Refused",
    "RetryPolicy",
    "RoomChannel",
    "RoomNotFound",
    "RoomShutdownCaller",
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
]
