"""Baseline: latency of a bare RPC echo on a real livekit-server. Measured, never asserted.

    .venv/bin/python bench/bench_rpc_baseline.py [--rounds 200] [--payload-bytes 300]

One Python participant "echo" registers ``bench.echo`` (returns its payload). Two callers, N rounds each:

* ``server_api``: RoomService.PerformRpc from a backend that is not in the room (livekit-api 1.2.2 has the
  ``PerformRpcRequest`` type but no wrapper method; its twirp client and a room_admin token do the call);
* ``participant``: ``perform_rpc`` from a second Python participant in the room.

Prints one JSON object: p50/p90/p99/max in ms per caller. Runs in a private network namespace (as the e2e
tests do; see harness/netns.py) unless SHUTDOWN_RPC_E2E_NETNS=0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from harness import netns

ECHO_METHOD = "bench.echo"


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    """p50/p90/p99/max (ms, 3 decimals) of ``samples_ms``."""
    ordered = sorted(samples_ms)
    q = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered * 99
    return {
        "n": len(ordered),
        "p50_ms": round(q[49], 3),
        "p90_ms": round(q[89], 3),
        "p99_ms": round(q[98], 3),
        "max_ms": round(ordered[-1], 3),
    }


async def measure(call: Callable[[str], Awaitable[str]], rounds: int, payload: str, warmup: int) -> list[float]:
    """Latency of ``rounds`` sequential calls (after ``warmup`` unmeasured ones); checks every echo."""
    samples: list[float] = []
    for i in range(warmup + rounds):
        start = time.perf_counter()
        reply = await call(payload)
        elapsed = (time.perf_counter() - start) * 1000
        if reply != payload:
            raise RuntimeError(f"echo mismatch in round {i}")
        if i >= warmup:
            samples.append(elapsed)
    return samples


async def run(rounds: int, payload_bytes: int, warmup: int) -> dict[str, object]:
    from livekit import api, rtc

    from harness.livekit_server import LiveKitServer
    from harness.participant import connect_participant

    room = f"bench-rpc-{uuid.uuid4().hex[:8]}"
    payload = "x" * payload_bytes
    async with LiveKitServer(api_key="bench", api_secret=secrets.token_hex(32), log_level="warn") as server:
        lkapi = api.LiveKitAPI(server.url, server.api_key, server.api_secret)
        echo = await connect_participant(server.url, server.api_key, server.api_secret, room=room, identity="echo")
        caller = await connect_participant(server.url, server.api_key, server.api_secret, room=room, identity="caller")
        try:

            async def handler(data: rtc.RpcInvocationData) -> str:
                return data.payload

            echo.local.register_rpc_method(ECHO_METHOD, handler)
            await caller.wait_for_participant("echo")

            service = lkapi.room
            headers = service._auth_header(api.VideoGrants(room_admin=True, room=room))

            async def via_server_api(body: str) -> str:
                req = api.PerformRpcRequest(
                    room=room, destination_identity="echo", method=ECHO_METHOD, payload=body, response_timeout_ms=10000
                )
                res = await service._client.request("RoomService", "PerformRpc", req, headers, api.PerformRpcResponse)
                return str(res.payload)

            async def via_participant(body: str) -> str:
                return await caller.local.perform_rpc(
                    destination_identity="echo", method=ECHO_METHOD, payload=body, response_timeout=10
                )

            server_api = await measure(via_server_api, rounds, payload, warmup)
            participant = await measure(via_participant, rounds, payload, warmup)
        finally:
            await caller.disconnect()
            await echo.disconnect()
            await lkapi.aclose()
    return {
        "rounds": rounds,
        "payload_bytes": payload_bytes,
        "netns": netns.current() is not None,
        "server_api": percentiles(server_api),
        "participant": percentiles(participant),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--payload-bytes", type=int, default=300, help="echo payload size (ASCII characters)")
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args(argv)
    if not netns.isolate_command_line_tool():  # before the rtc SDK starts its threads
        return 1
    result = asyncio.run(run(args.rounds, args.payload_bytes, args.warmup))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
