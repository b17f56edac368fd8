"""What the example agent records and which policy it runs, from environment variables (see examples/agent.py).

A module of its own so that harness/portable_agent.py (the same scenario on older livekit-agents releases, for
the compatibility matrix) records the same events under the same policy.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable, Coroutine
from typing import Any

from livekit.agents import JobContext

from shutdown_rpc.agent_side import (
    AccessPolicy,
    EndingTimings,
    RemoteRequest,
    ShutdownHandler,
    UnsignedCallers,
    parse_reason,
)

EVENTS_ENV = "SHUTDOWN_RPC_EVENTS_FILE"
FLUSH_DELAY_ENV = "SHUTDOWN_RPC_REPLY_FLUSH_DELAY_S"
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


def policy_from_env(ctx: JobContext) -> tuple[AccessPolicy, EndingTimings]:
    """The example's access policy and ending timings, from environment variables."""
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

    access = AccessPolicy(
        allow_any_agent=os.environ.get("SHUTDOWN_RPC_ALLOW_ANY_AGENT") == "1",
        unsigned=UnsignedCallers(identities=frozenset(unsigned_ids)) if unsigned_ids else None,
    )
    timings = EndingTimings(
        on_accepted=on_accepted,
        reply_flush_delay_s=flush_delay_from_env(),
    )
    return access, timings


def flush_delay_from_env() -> float:
    """SHUTDOWN_RPC_REPLY_FLUSH_DELAY_S, or the default with an ERROR when it is not a number within 0..10.

    Configuration read at job start never ends the job (as with SHUTDOWN_RPC_KEYS): a bad value is named and
    replaced by the default.
    """
    text = os.environ.get(FLUSH_DELAY_ENV, "").strip()
    if not text:
        return EndingTimings.reply_flush_delay_s
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 10:  # also NaN
        logger.error(
            "%s=%r is not a number of seconds within 0..10: using the default %s",
            FLUSH_DELAY_ENV,
            text[:40],
            EndingTimings.reply_flush_delay_s,
        )
        return EndingTimings.reply_flush_delay_s
    return value


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


def record_caller_receipt(ctx: JobContext, remote: ShutdownHandler) -> None:
    """Record ``caller_receipt`` when the callers confirmed every answer that carried the token (until the job
    ends; never if the agent's bound ran out first)."""

    async def wait_for_receipt() -> None:
        await remote.receipt_received.wait()
        record_event(ctx, "caller_receipt")

    receipt_watch = asyncio.get_running_loop().create_task(wait_for_receipt())

    async def stop_receipt_watch(_: str) -> None:
        receipt_watch.cancel()

    ctx.add_shutdown_callback(stop_receipt_watch)
