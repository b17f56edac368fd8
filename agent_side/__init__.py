"""Agent side of the shutdown RPC: ``remote = await enable_remote_shutdown(ctx, ...)`` in a job's entrypoint.

Callers holding a key ask the job to end; the agent verifies, authorizes, acknowledges, then calls
``ctx.shutdown("remote shutdown by {issuer} [{request_id}]: {reason}")`` once (see :func:`parse_reason`).
"""

# ruff: noqa: E402 - the extra check runs before any import that needs the extra
from shutdown_rpc._extras import require_extra

require_extra("shutdown_rpc.agent_side", "agent", ("livekit.rtc", "livekit.agents"))

from .enable import enable_remote_shutdown
from .ending import drain_session
from .handler import RemoteShutdown
from .keys_loading import KEYS_ENV, keys_from_env_value, load_key_ring, read_key_file
from .outcomes import OUTCOMES, OutcomeCounters
from .policy import (
    DEFAULT_DRAIN_GRACE_MS,
    DEFAULT_REPLY_FLUSH_DELAY_S,
    KeyScope,
    OnAccepted,
    ShutdownPolicy,
    UnsignedCallers,
    Veto,
)
from .rate_limit import FailureLimiter, RateLimit
from .reason import RemoteShutdownReason, format_reason, is_remote_reason, parse_reason
from .request import RemoteRequest

__all__ = [
    "DEFAULT_DRAIN_GRACE_MS",
    "DEFAULT_REPLY_FLUSH_DELAY_S",
    "KEYS_ENV",
    "OUTCOMES",
    "FailureLimiter",
    "KeyScope",
    "OnAccepted",
    "OutcomeCounters",
    "RateLimit",
    "RemoteRequest",
    "RemoteShutdown",
    "RemoteShutdownReason",
    "ShutdownPolicy",
    "UnsignedCallers",
    "Veto",
    "drain_session",
    "enable_remote_shutdown",
    "format_reason",
    "is_remote_reason",
    "keys_from_env_value",
    "load_key_ring",
    "parse_reason",
    "read_key_file",
]
