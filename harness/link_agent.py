"""The agent behind impaired links: the example agent's entrypoint (examples/agent.py) plus a bare RPC echo
``bench.echo``, in a worker that reports load 0 (see harness/steady_example_agent.py). Run by
bench/bench_e2e.py and tests/e2e/test_impaired_links.py.

On a ``blackout`` link profile (``$SHUTDOWN_RPC_LINK_BLACKOUT`` = ``HOST:PORT LINK MS``, set by
harness/links.py) it asks the link relay for the blackout right after it has handed its reply to a shutdown
request to LiveKit. With ``$SHUTDOWN_RPC_LINK_WITHHOLD_REPLY`` = ``1`` it decides every shutdown request but
never hands the reply over: what a caller sees when the reply is lost on the data channel (spec §10).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from livekit import rtc
from livekit.agents import AgentServer, JobContext, cli

from harness.links import BLACKOUT_ENV, TIMING_ENV
from shutdown_rpc.protocol.wire import METHOD_NAME

ECHO_METHOD = "bench.echo"
WITHHOLD_REPLY_ENV = "SHUTDOWN_RPC_LINK_WITHHOLD_REPLY"
example: Any = importlib.import_module("examples.agent")
server = AgentServer(load_fnc=lambda: 0.0)


def once_reply_handed(callback: Callable[..., object], *args: object) -> None:
    """Run ``callback(*args)`` in the loop turn after the SDK has handed the reply of the RPC chain that is returning
    to its native layer (two turns after the chain returns: ``REPLY_TURNS`` in agent_side/_livekit_compat.py)."""
    loop = asyncio.get_running_loop()
    loop.call_soon(loop.call_soon, loop.call_soon, callback, *args)


class BlackoutAfterReply(rtc.RpcInterceptor):
    """Sends ``blackout LINK MS`` to the relay once the shutdown reply has been handed to LiveKit."""

    def __init__(self, spec: str) -> None:
        address, self.link, self.ms = spec.split()
        host, port = address.rsplit(":", 1)
        self.address = (host, int(port))

    async def intercept_incoming(
        self, invocation: rtc.RpcInvocationData, next: Callable[[rtc.RpcInvocationData], Awaitable[str | None]]
    ) -> str | None:
        result = await next(invocation)
        if invocation.method == METHOD_NAME:
            once_reply_handed(self._send)
        return result

    def _send(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(f"blackout {self.link} {self.ms}".encode(), self.address)


class RpcTimings(rtc.RpcInterceptor):
    """Appends, per handled RPC, when the chain was entered, when it returned and when the reply was handed to the
    native layer (``time.perf_counter``: CLOCK_MONOTONIC, the clock the bench reads in its own process)."""

    def __init__(self, path: str, room: str) -> None:
        self.path, self.room = path, room

    async def intercept_incoming(
        self, invocation: rtc.RpcInvocationData, next: Callable[[rtc.RpcInvocationData], Awaitable[str | None]]
    ) -> str | None:
        entered = time.perf_counter()
        try:
            return await next(invocation)
        finally:
            once_reply_handed(self._write, invocation.method, entered, time.perf_counter())

    def _write(self, method: str, entered: float, returned: float) -> None:
        record = {"room": self.room, "method": method, "entered": entered, "returned": returned}
        with open(self.path, "a") as out:
            out.write(json.dumps({**record, "handed": time.perf_counter()}) + "\n")


class WithholdReply(rtc.RpcInterceptor):
    """Decides a shutdown request, then keeps its reply until the agent leaves (which cancels the handler): the
    ending attributes and the departure still go over signalling, the reply never reaches the caller."""

    async def intercept_incoming(
        self, invocation: rtc.RpcInvocationData, next: Callable[[rtc.RpcInvocationData], Awaitable[str | None]]
    ) -> str | None:
        result = await next(invocation)
        if invocation.method == METHOD_NAME:
            await asyncio.Event().wait()
        return result


@server.rtc_session(agent_name=os.environ.get("LIVEKIT_AGENT_NAME", "shutdown-rpc-bench"))
async def entrypoint(ctx: JobContext) -> None:
    async def echo(data: rtc.RpcInvocationData) -> str:
        return data.payload

    await ctx.connect()
    ctx.room.local_participant.register_rpc_method(ECHO_METHOD, echo)
    if os.environ.get(TIMING_ENV):
        ctx.room.local_participant.add_rpc_interceptor(RpcTimings(os.environ[TIMING_ENV], ctx.room.name))
    if os.environ.get(BLACKOUT_ENV):
        ctx.room.local_participant.add_rpc_interceptor(BlackoutAfterReply(os.environ[BLACKOUT_ENV]))
    if os.environ.get(WITHHOLD_REPLY_ENV) == "1":
        ctx.room.local_participant.add_rpc_interceptor(WithholdReply())
    await example.entrypoint(ctx)


if __name__ == "__main__":
    cli.run_app(server)
