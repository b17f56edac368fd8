"""Example agent: a real AgentSession (speaking with an offline tone TTS) that a backend can ask to end.

Run it like any agent (explicit dispatch by agent name)::

    LIVEKIT_URL=ws://127.0.0.1:7880 LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret \\
    SHUTDOWN_RPC_KEYS=/path/to/backend-1.key.json python examples/agent.py dev

Environment:

- ``SHUTDOWN_RPC_KEYS``: verification keys (a key file's JSON, a JSON array, or paths joined by ``:``).
- ``LIVEKIT_AGENT_NAME``: agent name for explicit dispatch (default ``shutdown-rpc-example``).
- ``SHUTDOWN_RPC_EVENTS_FILE``: if set, one JSON line per event is appended (event, reason, wall_ms, job_id,
  room, ...): ``entrypoint_started``, ``remote_shutdown_accepted``, ``caller_receipt`` (a receipt with the token
  arrived for every answer that carried it, so the agent left without waiting out its bound),
  ``session_closed``, ``shutdown_callback``.
- ``SHUTDOWN_RPC_GREETING``: text said when the session starts (tone of 40 ms per character), so a ``drain``
  request has speech to wait for. Default: a short greeting; empty: say nothing.
- ``SHUTDOWN_RPC_REPLY_FLUSH_DELAY_S``: the most the agent waits, after its acknowledgement, for the caller's receipt
  before ``ctx.shutdown`` (default 0.5; spec §11); a value that is not a number within 0..10 is logged as an ERROR
  and the default is used (bad configuration never ends a job).
- ``SHUTDOWN_RPC_ALLOW_ANY_AGENT=1``: accept the any-agent target ``"*"``.
- ``SHUTDOWN_RPC_UNSIGNED_IDENTITIES``: comma-separated identity globs allowed to send unsigned requests.
"""

from __future__ import annotations

import os

from livekit.agents import Agent, AgentServer, AgentSession, JobContext, cli, inference, room_io

from shutdown_rpc.agent_side import enable_remote_shutdown

try:  # imported as examples.agent (tests)
    from .agent_events import (
        DEFAULT_GREETING,
        policy_from_env,
        record_caller_receipt,
        record_event,
        shutdown_recorder,
    )
    from .tone_tts import ToneTTS
except ImportError:  # run as a script
    from agent_events import (  # type: ignore[no-redef,import-not-found,unused-ignore]
        DEFAULT_GREETING,
        policy_from_env,
        record_caller_receipt,
        record_event,
        shutdown_recorder,
    )
    from tone_tts import ToneTTS  # type: ignore[no-redef,import-not-found,unused-ignore]

__all__ = ["AGENT_NAME", "entrypoint", "policy_from_env", "record_event", "server"]

AGENT_NAME = os.environ.get("LIVEKIT_AGENT_NAME") or "shutdown-rpc-example"

server = AgentServer()


@server.rtc_session(agent_name=AGENT_NAME)
async def entrypoint(ctx: JobContext) -> None:
    """Start a speaking session and let remote callers end the job."""
    ctx.add_shutdown_callback(shutdown_recorder(ctx))

    # The local end-of-turn model: in dev mode livekit-agents 1.8.9 defaults to its cloud detector (a DNS lookup
    # and an outbound connection per job, falling back to this model when they fail). Nothing here leaves the host.
    local_turns = inference.TurnDetector(version="v1-mini")
    session: AgentSession[None] = AgentSession(tts=ToneTTS(), turn_handling={"turn_detection": local_turns})
    session.on("close", lambda ev: record_event(ctx, "session_closed", close_reason=str(ev.reason)))
    access, timings = policy_from_env(ctx)
    remote = await enable_remote_shutdown(ctx, access=access, timings=timings, session=session)
    record_caller_receipt(ctx, remote)

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
