"""Agent side of the shutdown RPC: ``handler = await enable_remote_shutdown(ctx, ...)`` in a job's entrypoint.

Callers holding a key ask the job to end; the agent verifies, authorizes, acknowledges, then calls
``ctx.shutdown("remote shutdown by {issuer} [{request_id}]: {reason}")`` once (see :func:`parse_reason`).

What an agent author meets: :func:`enable_remote_shutdown` and the :class:`ShutdownHandler` it returns (its
``state`` is a :class:`JobState`); who may end the job (:class:`AccessPolicy`, with :class:`KeyScope`,
:class:`UnsignedCallers`, :class:`RateLimit` and a veto hook that receives a :class:`RemoteRequest`); how the job
then ends (:class:`EndingTimings`); and the reason string (:func:`parse_reason`). Keys come from
``$SHUTDOWN_RPC_KEYS`` or the ``keys=`` / ``key_files=`` arguments. Everything else lives in ``_``-prefixed modules.
"""

# ruff: noqa: E402 - the extra check runs before any import that needs the extra
from shutdown_rpc._extras import require_extra

require_extra("shutdown_rpc.agent_side", "agent", ("livekit.rtc", "livekit.agents"))

from ._enable import enable_remote_shutdown
from ._handler import ShutdownHandler
from ._policy import AccessPolicy, KeyScope, UnsignedCallers
from ._rate_limit import RateLimit
from ._reason import parse_reason
from ._request import RemoteRequest
from ._state import JobState
from ._timings import EndingTimings

__all__ = [
    "AccessPolicy",
    "EndingTimings",
    "JobState",
    "KeyScope",
    "RateLimit",
    "RemoteRequest",
    "ShutdownHandler",
    "UnsignedCallers",
    "enable_remote_shutdown",
    "parse_reason",
]
