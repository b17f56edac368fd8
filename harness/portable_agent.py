"""The example agent's scenario on every livekit-agents 1.x the compatibility matrix runs (noxfile.py).

examples/agent.py is written for the newest livekit-agents (``AgentServer``, ``inference.TurnDetector``,
``room_io.RoomOptions``); older releases lack those names, so the matrix runs this agent instead: the same
speaking AgentSession (tone TTS), the same policy and the same recorded events (``entrypoint_started``,
``remote_shutdown_accepted``, ``session_closed``, ``shutdown_callback``), built with whatever the installed
release offers. Only the way the worker and the session are set up differs; the remote-shutdown calls do not.
Its worker reports a load of 0 (see harness/steady_example_agent.py).

Run: ``python -m harness.portable_agent dev`` (the example's environment variables).
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from livekit import agents
from livekit.agents import Agent, AgentSession, JobContext, cli

from examples import agent_events as events  # not examples.agent: that needs the newest names
from examples.tone_tts import ToneTTS
from shutdown_rpc.agent_side import enable_remote_shutdown

AGENT_NAME = os.environ.get("LIVEKIT_AGENT_NAME") or "shutdown-rpc-example"


def zero_load(*_args: object) -> float:
    """Always 0.0: the worker stays available whatever the machine's CPU usage."""
    return 0.0


def room_options() -> dict[str, Any]:
    """``session.start`` options without transcript sync (a tone has no words), in the release's own terms."""
    room_io: Any = importlib.import_module("livekit.agents.voice.room_io")
    if hasattr(room_io, "RoomOptions"):  # 1.3+
        return {"room_options": room_io.RoomOptions(text_output=room_io.TextOutputOptions(sync_transcription=False))}
    return {"room_output_options": room_io.RoomOutputOptions(sync_transcription=False)}


def turn_handling() -> dict[str, Any]:
    """The local end-of-turn model where the release has one (1.6+ default to a cloud detector in dev mode,
    which would reach outside loopback), as examples/agent.py does; nothing before."""
    inference: Any = getattr(agents, "inference", None)
    if inference is None or not hasattr(inference, "TurnDetector"):
        return {}
    return {"turn_handling": {"turn_detection": inference.TurnDetector(version="v1-mini")}}


async def entrypoint(ctx: JobContext) -> None:
    """Start a speaking session and let remote callers end the job (as examples/agent.py does)."""
    ctx.add_shutdown_callback(events.shutdown_recorder(ctx))
    session: AgentSession[None] = AgentSession(tts=ToneTTS(), **turn_handling())
    session.on("close", lambda ev: events.record_event(ctx, "session_closed", close_reason=str(ev.reason)))
    access, timings = events.policy_from_env(ctx)
    remote = await enable_remote_shutdown(ctx, access=access, timings=timings, session=session)
    events.record_caller_receipt(ctx, remote)
    await ctx.connect()
    await session.start(agent=Agent(instructions="You only speak greetings."), room=ctx.room, **room_options())
    events.record_event(
        ctx, "entrypoint_started", identity=ctx.room.local_participant.identity, key_ids=list(remote.key_ids)
    )
    greeting = os.environ.get("SHUTDOWN_RPC_GREETING", events.DEFAULT_GREETING)
    if greeting:
        session.say(greeting, allow_interruptions=False)


def worker() -> Any:
    """``AgentServer`` (1.3+) or ``WorkerOptions`` (before), for explicit dispatch under ``AGENT_NAME``."""
    server_type: Any = getattr(agents, "AgentServer", None)
    if server_type is None:
        return agents.WorkerOptions(entrypoint_fnc=entrypoint, agent_name=AGENT_NAME, load_fnc=zero_load)
    server = server_type(load_fnc=zero_load)
    server.rtc_session(agent_name=AGENT_NAME)(entrypoint)
    return server


if __name__ == "__main__":
    cli.run_app(worker())
