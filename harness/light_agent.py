"""A light agent with remote shutdown and no AgentSession: cheap enough to run 20 jobs at once on 2 cores.

Used by the cluster tests and the scale benchmark. It enables remote shutdown with the keys of
``$SHUTDOWN_RPC_KEYS`` and appends one JSON line per event to ``$HARNESS_RECORD_FILE`` (the format of
:class:`harness.agent_worker.RecordFile`): ``entrypoint_started`` (identity), ``veto_called``,
``remote_shutdown_accepted`` (request_id, caller), ``receipt_received`` and ``shutdown_called`` (the ending's
milestones), ``shutdown_callback`` (reason, caller_reason).

Dispatch metadata (JSON) can hold the acknowledgement: ``{"hold_ack_s": 20}`` makes the veto hook wait that long
before letting the request through, so a test can act while a call is pending.
``$SHUTDOWN_RPC_REPLY_FLUSH_DELAY_S`` sets the reply-flush delay (unset: the package's default), as for the
example agent.

Run it like any agent: ``python -m harness.light_agent dev`` (the harness does, with LIVEKIT_URL/... set).
"""

from __future__ import annotations

import asyncio
import json
import os

from livekit.agents import AgentServer, JobContext, cli

from harness.job_events import record, zero_load
from shutdown_rpc.agent_side import AccessPolicy, EndingTimings, RemoteRequest, enable_remote_shutdown, parse_reason

FLUSH_DELAY_ENV = "SHUTDOWN_RPC_REPLY_FLUSH_DELAY_S"  # the example agent's variable, same meaning


server = AgentServer(load_fnc=zero_load)
_milestones: set[asyncio.Task[None]] = set()  # strong references to the milestone tasks


@server.rtc_session()  # agent_name from $LIVEKIT_AGENT_NAME (set by the harness): explicit dispatch
async def entrypoint(ctx: JobContext) -> None:
    metadata = json.loads(ctx.job.metadata or "{}")
    hold_ack_s = float(metadata.get("hold_ack_s", 0))

    async def on_shutdown(reason: str) -> None:
        parsed = parse_reason(reason)
        record(ctx, "shutdown_callback", reason=reason, caller_reason=parsed.reason if parsed else None)

    async def veto(request: RemoteRequest) -> None:
        record(ctx, "veto_called", request_id=request.request_id)
        if hold_ack_s > 0:
            await asyncio.sleep(hold_ack_s)  # holds the reply: the test's "call pending" window

    def on_accepted(request: RemoteRequest) -> None:
        record(ctx, "remote_shutdown_accepted", request_id=request.request_id, caller=request.caller_identity)

    ctx.add_shutdown_callback(on_shutdown)
    await ctx.connect()
    flush_delay_s = float(os.environ.get(FLUSH_DELAY_ENV, EndingTimings.reply_flush_delay_s))
    handler = await enable_remote_shutdown(
        ctx,
        access=AccessPolicy(veto=veto),
        timings=EndingTimings(on_accepted=on_accepted, reply_flush_delay_s=flush_delay_s),
    )

    async def milestone(event: asyncio.Event, name: str) -> None:
        await event.wait()
        record(ctx, name)

    # the ending's milestones, for bench_scale's per-agent breakdown (cancelled with the job if never reached)
    for event, name in ((handler.receipt_received, "receipt_received"), (handler.shutdown_done, "shutdown_called")):
        task = asyncio.get_running_loop().create_task(milestone(event, name))
        _milestones.add(task)
        task.add_done_callback(_milestones.discard)
    record(ctx, "entrypoint_started", identity=ctx.room.local_participant.identity)


if __name__ == "__main__":
    cli.run_app(server)
