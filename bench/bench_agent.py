"""Benchmark agent: the example agent's entrypoint (examples/agent.py) plus a bare RPC echo ``bench.echo``,
in a worker that reports load 0 (see harness/steady_example_agent.py). Run by bench/bench_e2e.py."""

from __future__ import annotations

import importlib
import os
from typing import Any

from livekit import rtc
from livekit.agents import AgentServer, JobContext, cli

ECHO_METHOD = "bench.echo"
example: Any = importlib.import_module("examples.agent")
server = AgentServer(load_fnc=lambda: 0.0)


@server.rtc_session(agent_name=os.environ.get("LIVEKIT_AGENT_NAME", "shutdown-rpc-bench"))
async def entrypoint(ctx: JobContext) -> None:
    async def echo(data: rtc.RpcInvocationData) -> str:
        return data.payload

    await ctx.connect()
    ctx.room.local_participant.register_rpc_method(ECHO_METHOD, echo)
    await example.entrypoint(ctx)


if __name__ == "__main__":
    cli.run_app(server)
