"""Flood benchmark agent: the example agent (examples/agent.py), observed from inside its job process.

Adds to the example, without changing its request handling:

* ``bench.stats`` (RPC): this job process's pid and CPU time, the event loop's lag since the last ``reset``
  (a task that sleeps 20 ms and records how late it wakes), and the remote-shutdown outcome counters;
* a veto for requests whose issuer is ``bench-probe``: such a request is fully verified (signature, time,
  schema, binding, replay) and then answered VETOED without ending the job, so a benchmark can send many
  valid signed requests to one job and tell "verified" (VETOED) from anything else;
* a worker that reports load 0 (see harness/steady_example_agent.py). Run by bench/bench_flood.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import json
import logging
import os
import time
from typing import Any

from livekit import rtc
from livekit.agents import AgentServer, JobContext, cli

from shutdown_rpc.agent_side import RemoteRequest, ShutdownHandler

STATS_METHOD = "bench.stats"
PROBE_ISSUER = "bench-probe"
LAG_TICK_S = 0.02

example: Any = importlib.import_module("examples.agent")
server = AgentServer(load_fnc=lambda: 0.0)
_remotes: list[ShutdownHandler] = []
_enable = example.enable_remote_shutdown
_policy_from_env = example.policy_from_env


async def _enable_and_keep(*args: Any, **kwargs: Any) -> ShutdownHandler:
    remote: ShutdownHandler = await _enable(*args, **kwargs)
    _remotes.append(remote)
    return remote


def _probe_veto(remote: RemoteRequest) -> str | None:
    return "probe verified; not acted on" if remote.issuer == PROBE_ISSUER else None


def _policy_with_probe_veto(ctx: JobContext) -> tuple[Any, Any]:
    access, timings = _policy_from_env(ctx)  # (AccessPolicy, EndingTimings)
    return dataclasses.replace(access, veto=_probe_veto), timings


if os.environ.get("BENCH_AGENT_LOG_LEVEL"):  # bench_flood --agent-log-level: what per-call logging costs
    logging.getLogger("shutdown_rpc").setLevel(os.environ["BENCH_AGENT_LOG_LEVEL"])
example.enable_remote_shutdown = _enable_and_keep
example.policy_from_env = _policy_with_probe_veto


class LoopLag:
    """How late a 20 ms sleep wakes up, in ms: the event loop's responsiveness."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    async def run(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(LAG_TICK_S)
            self.samples.append(max(0.0, (time.perf_counter() - t - LAG_TICK_S) * 1000))

    def summary(self) -> dict[str, float]:
        s = sorted(self.samples) or [0.0]
        return {
            "n": len(self.samples),
            "p50": round(s[len(s) // 2], 2),
            "p99": round(s[min(len(s) - 1, int(0.99 * len(s)))], 2),
            "max": round(s[-1], 2),
        }


@server.rtc_session(agent_name=os.environ.get("LIVEKIT_AGENT_NAME", "shutdown-rpc-flood"))
async def entrypoint(ctx: JobContext) -> None:
    lag = LoopLag()
    lag_task = asyncio.create_task(lag.run(), name="bench.loop_lag")

    async def stats(data: rtc.RpcInvocationData) -> str:
        summary = lag.summary()
        if data.payload == "reset":
            lag.samples.clear()
        return json.dumps(
            {
                "pid": os.getpid(),
                "cpu_s": time.process_time(),
                "mono_s": time.monotonic(),
                "lag_ms": summary,
                "outcomes": _remotes[-1].counters.snapshot() if _remotes else {},
            }
        )

    async def stop_lag(_reason: str) -> None:
        lag_task.cancel()

    ctx.add_shutdown_callback(stop_lag)
    await ctx.connect()
    ctx.room.local_participant.register_rpc_method(STATS_METHOD, stats)
    await example.entrypoint(ctx)


if __name__ == "__main__":
    cli.run_app(server)
