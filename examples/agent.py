"""Example agent: a real AgentSession (speaking with an offline tone TTS) that a backend can ask to end.

Run it like any agent (explicit dispatch by agent name)::

    LIVEKIT_URL=ws://127.0.0.1:7880 LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret \\
    SHUTDOWN_RPC_KEYS=/path/to/backend-1.key.json python examples/agent.py dev

Environment:

- ``SHUTDOWN_RPC_KEYS``: verification keys (a key file's JSON, a JSON array, or paths joined by ``:``).
- ``LIVEKIT_AGENT_NAME``: agent name for explicit dispatch (default ``shutdown-rpc-example``).
- ``SHUTDOWN_RPC_EVENTS_FILE``: if set, one JSON line per event is appended (event, reason, wall_ms, job_id,
  room, ...): ``entrypoint_started``, ``remote_shutdown_accepted``, ``caller_receipt`` (the caller's receipt, with
  the acknowledgement's token, arrived), ``session_closed``, ``shutdown_callback``.
- ``SHUTDOWN_RPC_GREETING``: text said when the session starts (tone of 40 ms per character), so a ``drain``
  request has speech to wait for. Default: a short greeting; empty: say nothing.
- ``SHUTDOWN_RPC_REPLY_FLUSH_DELAY_S``: the most the agent waits, after its acknowledgement, for the caller's receipt
  before ``ctx.shutdown`` (default 0.5; spec §11); a value that is not a number within 0..10 is logged as an ERROR
  and the default is used (bad configuration never ends a job).
- ``SHUTDOWN_RPC_ALLOW_ANY_AGENT=1``: accept the any-agent target ``"*"``.
- ``SHUTDOWN_RPC_UNSIGNED_IDENTITIES``: comma-separated identity globs allowed to send unsigned requests.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from typing import Any

from livekit.agents import Agent, AgentServer, AgentSession, JobContext, cli, inference, room_io

from shutdown_rpc.agent_side import (
    AccessPolicy,
    EndingTimings,
    RemoteRequest,
    UnsignedCallers,
    enable_remote_shutdown,
    parse_reason,
)

try:
    from .tone_tts import ToneTTS  # imported as examples.agent (tests)
except ImportError:
    from tone_tts import ToneTTS  # type: ignore[no-redef,import-not-found,unused-ignore]  # run as a script

EVENTS_ENV = "SHUTDOWN_RPC_EVENTS_FILE"
FLUSH_DELAY_ENV = "SHUTDOWN_RPC_REPLY_FLUSH_DELAY_S"
AGENT_NAME = os.environ.get("LIVEKIT_AGENT_NAME") or "shutdown-rpc-example"
DEFAULT_GREETING = "Hello. This agent ends when an authorized backend asks it to."

logger = logging.getLogger("shutdown_rpc.example")
server = AgentServer()


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


@server.rtc_session(agent_name=AGENT_NAME)
async def entrypoint(ctx: JobContext) -> None:
    """Start a speaking session and let remote callers end the job."""

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

    ctx.add_shutdown_callback(on_shutdown)

    # The local end-of-turn model: in dev mode livekit-agents 1.8.9 defaults to its cloud detector (a DNS lookup
    # and an outbound connection per job, falling back to this model when they fail). Nothing here leaves the host.
    local_turns = inference.TurnDetector(version="v1-mini")
    session: AgentSession[None] = AgentSession(tts=ToneTTS(), turn_handling={"turn_detection": local_turns})
    session.on("close", lambda ev: record_event(ctx, "session_closed", close_reason=str(ev.reason)))
    access, timings = policy_from_env(ctx)
    remote = await enable_remote_shutdown(ctx, access=access, timings=timings, session=session)

    async def record_caller_receipt() -> None:
        await remote.receipt_received.wait()
        record_event(ctx, "caller_receipt")

    receipt_watch = asyncio.get_running_loop().create_task(record_caller_receipt())

    async def stop_receipt_watch(_: str) -> None:
        receipt_watch.cancel()

    ctx.add_shutdown_callback(stop_receipt_watch)

    # A tone has no words: syncing a transcript to it would only cost CPU (livekit-agents estimates the speaking
    # rate with an FFT of the audio, on the event loop).
    no_sync = room_io.RoomOptions(text_output=room_io.TextOutputOptions(sync_transcription=False))
    await session.start(agent=Agent(instructions="You only speak greetings."), room=ctx.room, room_options=no_sync)
    record_event(ctx, "entrypoint_started", identity=ctx.room.local_participant.identity, key_ids=list(remote.key_ids))
    greeting = os.environ.get("SHUTDOWN_RPC_GREETING", DEFAULT_GREETING)
    if greeting:
        session.say(greeting, allow_interruptions=False)


if __name__ == "__main__":
    cli.run_app(server)
