"""A plain agent that only records how its job ends (no STT/LLM/TTS).

Each event is one JSON line appended to the file named by ``$HARNESS_RECORD_FILE`` (see
``harness.agent_worker.RecordFile``):

* ``entrypoint_started`` once connected (with the agent's identity),
* ``shutdown_callback`` with the ``reason`` the job's shutdown callback received.

For the self-shutdown test only, it registers the RPC method ``test.end_job``: the payload becomes the reason
given to ``ctx.shutdown``; the call is answered first and the shutdown starts on the next loop iteration.

Run it like any agent: ``python recording_agent.py dev`` (the harness does, with LIVEKIT_URL/... set).
"""

from __future__ import annotations

import asyncio

from livekit import rtc
from livekit.agents import AgentServer, JobContext, cli

from harness.job_events import record, zero_load

END_JOB_METHOD = "test.end_job"


server = AgentServer(load_fnc=zero_load)


@server.rtc_session()  # agent_name comes from $LIVEKIT_AGENT_NAME (set by the harness): explicit dispatch
async def entrypoint(ctx: JobContext) -> None:
    async def on_shutdown(reason: str) -> None:
        record(ctx, "shutdown_callback", reason=reason)

    ctx.add_shutdown_callback(on_shutdown)
    await ctx.connect()

    async def end_job(data: rtc.RpcInvocationData) -> str:
        # reply first: the shutdown starts only after this handler has returned
        asyncio.get_running_loop().call_soon(ctx.shutdown, data.payload)
        return "ok"

    ctx.room.local_participant.register_rpc_method(END_JOB_METHOD, end_job)
    record(ctx, "entrypoint_started", identity=ctx.room.local_participant.identity)


if __name__ == "__main__":
    cli.run_app(server)
