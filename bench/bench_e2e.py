"""End-to-end benchmark on a real livekit-server: measured, not asserted.

    .venv/bin/python -m bench.bench_e2e [--rounds 200] [--compare-every 4]

One worker (bench/bench_agent.py: the example agent + a bare ``bench.echo`` RPC method, no greeting) serves a
new room per round; a Python participant "user" sits in each room and observes the agent leave. Per round:

* ``--echoes`` bare RPC echoes through RoomService.PerformRpc (same path, same payload size as a request),
  then one HMAC-signed shutdown request through PerformRpc: its latency to the ack, whether the ack arrived
  before the agent left (delivery; a miss must surface as AgentLeftBeforeReply, never a silent Timeout),
  and request -> agent participant gone (as "user" sees it);
* every ``--compare-every`` rounds, two more jobs: DeleteRoom -> gone (user's own disconnect: everyone leaves)
  and RemoveParticipant(agent) -> gone.

Prints delivery %, p50/p99 and ratios (targets: delivery >= 99.9 %, ack <= 1.05x echo, gone <= 1.2x
DeleteRoom). Runtime: each job costs a job-process start (~1.5-3 s on 2 busy cores), so 200 rounds with
``--compare-every 4`` (300 jobs) take roughly 12-20 minutes; use ``--rounds`` for a shorter run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from livekit import api

from harness import netns
from harness.agent_worker import AgentWorker, RecordFile
from harness.livekit_server import LiveKitServer
from harness.participant import RoomParticipant, connect_participant
from shutdown_rpc.client_side import (
    AgentLeftBeforeReply,
    RetryPolicy,
    RpcFailure,
    ServerChannel,
    ShutdownClient,
    ShutdownFailed,
    deliver,
    perform_rpc,
)
from shutdown_rpc.protocol import HmacSha256Key, build_request, dump_key, sign_request

ECHO_METHOD = "bench.echo"
WAIT_S = 60.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Bench:
    def __init__(self, server: LiveKitServer, worker: AgentWorker, events: RecordFile, key: HmacSha256Key) -> None:
        self.server, self.worker, self.events, self.key = server, worker, events, key
        self.lkapi = api.LiveKitAPI(server.url, server.api_key, server.api_secret)
        self.client = ShutdownClient(None, issuer="bench", lkapi=self.lkapi)  # only its Channel is used
        self.echo_ms: list[float] = []
        self.ack_ms: list[float] = []
        self.gone_ms: dict[str, list[float]] = {"request": [], "delete_room": [], "remove_participant": []}
        self.outcomes: Counter[str] = Counter()
        self.failures: list[str] = []

    async def job(self) -> tuple[str, RoomParticipant, str]:
        room = f"bench-{uuid.uuid4().hex[:10]}"
        user = await connect_participant(
            self.server.url, self.server.api_key, self.server.api_secret, room=room, identity="user"
        )
        await self.worker.dispatch(self.lkapi, room)
        agent = await user.wait_for_agent(agent_name=self.worker.agent_name, timeout=WAIT_S)
        await user.wait_until(lambda: bool(agent.attributes.get("shutdown_rpc.method")), timeout=WAIT_S)
        return room, user, agent.identity

    async def gone_after(self, user: RoomParticipant, agent: str, t0: float, *, whole_room: bool) -> float:
        if whole_room:
            await user.wait_disconnected(timeout=WAIT_S)
        else:
            await user.wait_participant_left(agent, timeout=WAIT_S)
        return (time.perf_counter() - t0) * 1000

    async def request_round(self, echoes: int) -> None:
        room, user, agent = await self.job()
        gone_at: list[float] = []
        user.room.on(
            "participant_disconnected",
            lambda p: gone_at.append(time.perf_counter()) if p.identity == agent else None,
        )
        try:
            request = build_request(room=room, target=agent, reason="bench", issuer="bench")
            payload = sign_request(request, self.key)
            for _ in range(echoes):
                t = time.perf_counter()
                try:
                    await perform_rpc(
                        self.lkapi,
                        room=room,
                        destination_identity=agent,
                        method=ECHO_METHOD,
                        payload=payload,
                        response_timeout_s=10.0,
                        timeout_s=25.0,
                    )
                except RpcFailure as exc:  # e.g. "data channel is not available" just after the agent joined
                    self.outcomes[f"echo_failed:{exc.message[:60]}"] += 1
                    continue
                self.echo_ms.append((time.perf_counter() - t) * 1000)
            t0 = time.perf_counter()
            try:
                result = await deliver(
                    ServerChannel(self.client, room, agent),
                    payload,
                    room=room,
                    agent=agent,
                    request_id=request.request_id,
                    timeout_s=20.0,
                    policy=RetryPolicy(),  # what a backend uses: same-id retries within the deadline
                )
                acked_at = time.perf_counter()
                self.ack_ms.append((acked_at - t0) * 1000)
                # delivered = the ack was in the caller's hands before the agent was seen leaving
                self.outcomes["ack_before_leave" if not gone_at or acked_at <= gone_at[0] else "ack_after_leave"] += 1
                if result.attempts > 1:
                    self.outcomes["acked_after_retry"] += 1
            except ShutdownFailed as exc:
                self.outcomes[type(exc).__name__] += 1
                if not isinstance(exc, AgentLeftBeforeReply):
                    # The request never took effect: nothing will leave; end the job and go on.
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                    await self.lkapi.room.delete_room(api.DeleteRoomRequest(room=room))
                    return
            await user.wait_participant_left(agent, timeout=WAIT_S)
            self.gone_ms["request"].append(((gone_at[0] if gone_at else time.perf_counter()) - t0) * 1000)
        finally:
            await user.disconnect()

    async def admin_round(self, kind: str) -> None:
        room, user, agent = await self.job()
        try:
            t0 = time.perf_counter()
            if kind == "delete_room":
                await self.lkapi.room.delete_room(api.DeleteRoomRequest(room=room))
            else:
                await self.lkapi.room.remove_participant(api.RoomParticipantIdentity(room=room, identity=agent))
            self.gone_ms[kind].append(await self.gone_after(user, agent, t0, whole_room=kind == "delete_room"))
        finally:
            await user.disconnect()

    async def run(self, rounds: int, compare_every: int, echoes: int) -> None:
        started = time.monotonic()
        for i in range(rounds):
            await self.request_round(echoes)
            if compare_every and i % compare_every == 0:
                await self.admin_round("delete_room")
                await self.admin_round("remove_participant")
            if (i + 1) % 10 == 0:
                print(f"  {i + 1}/{rounds} rounds, {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)
        await self.lkapi.aclose()

    def report(self, rounds: int, elapsed_s: float) -> dict[str, object]:
        delivered = self.outcomes["ack_before_leave"]
        echo50, echo99 = pct(self.echo_ms, 0.5), pct(self.echo_ms, 0.99)
        ack50, ack99 = pct(self.ack_ms, 0.5), pct(self.ack_ms, 0.99)
        g = {k: (pct(v, 0.5), pct(v, 0.99), len(v)) for k, v in self.gone_ms.items()}
        return {
            "rounds": rounds,
            "elapsed_s": round(elapsed_s, 1),
            "delivery_pct": round(100.0 * delivered / rounds, 3),
            "outcomes": dict(self.outcomes),
            # every round without an ack must surface as AgentLeftBeforeReply (the request took effect)
            "misses_reported_as_left_before_reply": f"{self.outcomes['AgentLeftBeforeReply']}/{rounds - delivered}",
            "failures": self.failures[:10],
            "echo_ms_p50_p99": (round(echo50, 1), round(echo99, 1), len(self.echo_ms)),
            "ack_ms_p50_p99": (round(ack50, 1), round(ack99, 1), len(self.ack_ms)),
            "ack_over_echo_p50_p99": (round(ack50 / echo50, 3), round(ack99 / echo99, 3)),
            "gone_ms_p50_p99_n": {k: tuple(round(x, 1) for x in v) for k, v in g.items()},
            "gone_request_over_delete_room_p50": round(g["request"][0] / g["delete_room"][0], 2),
            "gone_request_over_remove_participant_p50": round(g["request"][0] / g["remove_participant"][0], 2),
            "gone_ms_mean_request": round(statistics.fmean(self.gone_ms["request"]), 1),
        }


async def amain(args: argparse.Namespace) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    key = HmacSha256Key("bench-hmac", os.urandom(32))
    events = RecordFile(workdir / "events.jsonl")
    server = LiveKitServer(
        api_key="benchkey", api_secret=uuid.uuid4().hex * 2, log_path=workdir / "server.log", log_level="warn"
    )
    await asyncio.to_thread(server.start)
    env = {
        "SHUTDOWN_RPC_KEYS": dump_key(key),
        "SHUTDOWN_RPC_EVENTS_FILE": str(events.path),
        "SHUTDOWN_RPC_GREETING": "",
    }
    if args.flush_delay is not None:
        env["SHUTDOWN_RPC_REPLY_FLUSH_DELAY_S"] = str(args.flush_delay)
    worker = AgentWorker(
        "bench.bench_agent", server=server, agent_name="bench", env=env, log_path=workdir / "worker.log"
    )
    try:
        await asyncio.to_thread(worker.start)
        bench = Bench(server, worker, events, key)
        t = time.monotonic()
        await bench.run(args.rounds, args.compare_every, args.echoes)
        return bench.report(args.rounds, time.monotonic() - t)
    finally:
        await asyncio.to_thread(worker.stop)
        await asyncio.to_thread(server.stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_e2e", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--compare-every", type=int, default=4, help="DeleteRoom/RemoveParticipant jobs every N rounds")
    parser.add_argument("--echoes", type=int, default=3, help="bare RPC echoes per round")
    parser.add_argument(
        "--flush-delay", type=float, default=None, help="agent's reply flush delay (s); default: its own"
    )
    args = parser.parse_args(argv)
    isolation_error = netns.isolate_process()  # before the rtc SDK starts its threads
    if isolation_error is not None:
        print(f"cannot set up the private network namespace: {isolation_error}", file=sys.stderr)
        return 1
    report = asyncio.run(amain(args))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
