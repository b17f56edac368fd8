"""Agent side of the shutdown RPC: ``remote = await enable_remote_shutdown(ctx, ...)`` in a job's entrypoint.

Callers holding a key ask the job to end; the agent verifies, authorizes, acknowledges, then calls
``ctx.shutdown("remote shutdown by {issuer} [{request_id}]: {reason}")`` once (see :func:`parse_reason`).

What an agent author meets: :func:`enable_remote_shutdown` and the :class:`RemoteShutdown` it returns (its
``state`` is a :class:`JobState`), the policy (:class:`ShutdownPolicy`, :class:`KeyScope`,
:class:`UnsignedCallers`, :class:`RateLimit`, the :data:`Veto` / :data:`OnAccepted` hooks, which receive a
:class:`RemoteRequest`), key loading (:func:`load_key_ring`, ``$SHUTDOWN_RPC_KEYS``), the reason string
(:func:`parse_reason`) and the counters. Everything else lives in ``_``-prefixed modules.
"""

# ruff: noqa: E402 - the extra check runs before any import that needs the extra
from shutdown_rpc._extras import require_extra

require_extra("shutdown_rpc.agent_side", "agent", ("livekit.rtc", "livekit.agents"))

from ._enable import enable_remote_shutdown
from ._handler import RemoteShutdown
from ._keys import KEYS_ENV, keys_from_env_value, load_key_ring, read_key_file
from ._outcomes import OUTCOMES, OutcomeCounters
from ._policy import (
    DEFAULT_REPLY_FLUSH_DELAY_S,
    KeyScope,
    OnAccepted,
    SelfSetAttributesWarning,
    ShutdownPolicy,
    UnsignedCallers,
    Veto,
)
from ._rate_limit import RateLimit
from ._reason import RemoteShutdownReason, format_reason, is_remote_reason, parse_reason
from ._request import RemoteRequest
from ._state import JobState

__all__ = [
    "DEFAULT_REPLY_FLUSH_DELAY_S",
    "KEYS_ENV",
    "OUTCOMES",
    "JobState",
    "KeyScope",
    "OnAccepted",
    "OutcomeCounters",
    "RateLimit",
    "RemoteRequest",
    "RemoteShutdown",
    "RemoteShutdownReason",
    "SelfSetAttributesWarning",
    "ShutdownPolicy",
    "UnsignedCallers",
    "Veto",
    "enable_remote_shutdown",
    "format_reason",
    "is_remote_reason",
    "keys_from_env_value",
    "load_key_ring",
    "parse_reason",
    "read_key_file",
]
