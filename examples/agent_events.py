"""What the example agent records and which policy it runs, from environment variables (see examples/agent.py).

A module of its own so that harness/portable_agent.py (the same scenario on older livekit-agents releases, for
the compatibility matrix) records the same events under the same policy.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Coroutine
from typing import Any

from livekit.agents import JobContext

from shutdown_rpc.agent_side import (
    DEFAULT_REPLY_FLUSH_DELAY_S,
    RemoteRequest,
    ShutdownPolicy,
    UnsignedCallers,
    parse_reason,
)

EVENTS_ENV = "SHUTDOWN_RPC_EVENTS_FILE"
DEFAULT_GREETING = "Hello. This agent ends when an authorized backend asks it to."

logger = logging.getLogger("shutdown_rpc.example")


def record_event(ctx: JobContext, event: str, **fields: Any) -> None:
    """Log an event and, with SHUTDOWN_RPC_EVENTS_FILE set, append it as one JSON line (one write per line)."""
    line = {"event": event, "wall_ms": time.time_ns() // 1_000_000, "job_id": ctx.job.id, "room": ctx.job.room.name}
    line.update(fields)
    logger.info("%s %s", event, json.dumps(fields, default=str))
    path = os.environ.get(EVENTS_ENV)
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(line, default=str) + "\n").encode())
    finally:
        os.close(fd)


def policy_from_env(ctx: JobContext) -> ShutdownPolicy:
    """The example's policy, from environment variables."""
    unsigned_ids = [p.strip() for p in os.environ.get("SHUTDOWN_RPC_UNSIGNED_IDENTITIES", "").split(",") if p.strip()]

    def on_accepted(request: RemoteRequest) -> None:
        record_event(
            ctx,
            "remote_shutdown_accepted",
            request_id=request.request_id,
            issuer=request.issuer,
            caller=request.caller_identity,
            key_id=request.key_id,
            options=request.options.model_dump(),
        )

    return ShutdownPolicy(
        allow_any_agent=os.environ.get("SHUTDOWN_RPC_ALLOW_ANY_AGENT") == "1",
        unsigned=UnsignedCallers(identities=frozenset(unsigned_ids)) if unsigned_ids else None,
        on_accepted=on_accepted,
        reply_flush_delay_s=float(os.environ.get("SHUTDOWN_RPC_REPLY_FLUSH_DELAY_S", DEFAULT_REPLY_FLUSH_DELAY_S)),
    )


def shutdown_recorder(ctx: JobContext) -> Callable[[str], Coroutine[None, None, None]]:
    """A shutdown callback recording ``shutdown_callback`` with the reason, parsed if a remote request set it."""

    async def on_shutdown(reason: str) -> None:
        remote_reason = parse_reason(reason)
        record_event(
            ctx,
            "shutdown_callback",
            reason=reason,
            remote=remote_reason is not None,
            issuer=remote_reason.issuer if remote_reason else None,
            request_id=remote_reason.request_id if remote_reason else None,
            caller_reason=remote_reason.reason if remote_reason else None,
        )

    return on_shutdown
