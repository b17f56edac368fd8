"""End-to-end benchmark on a real livekit-server, per link profile: measured, not asserted.

    .venv/bin/python -m bench.bench_e2e --profile clean --profile mobile --rounds 200 [--agent node]

Per profile (harness/links.py: clean, lossy, mobile, blackout, busy) a fresh server, relay and worker
(harness/link_agent.py: the example agent, speaking a long tone utterance, + a bare ``bench.echo`` method) run
behind the profile's links; a Python participant "user" on its own link listens to the agent. Per round, with
the agent in the middle of its utterance:

* one echo through RoomService.PerformRpc that is discarded (the first RPC after the join is cold), then
  ``--echoes`` warm echoes (same agent, same path, same payload size as the request);
* one HMAC-signed shutdown request through PerformRpc with a backend's retry policy: time to the ack,
  whether the ack was in the caller's hands before the user saw the agent leave (``delivery_pct``), the
  typed outcome otherwise (every miss must be AgentLeftBeforeReply, never Timeout, never a hang);
  request -> silence (the last loud audio frame the user receives from the agent) and request -> agent gone;
* every ``--compare-every`` rounds, one more job ended by DeleteRoom: DeleteRoom -> gone (and -> silence);
  and one more job whose audio the server cuts (RoomService.MutePublishedTrack of the agent's track): mute ->
  the last loud frame the user receives, the physical anchor of our silence (frames already sent keep arriving;
  our silence needs the request to cross the agent's link once more). Reported as ``silence - anchor`` at p50,
  in ms and in agent-link RTTs, with the issue's target: silence p50 <= anchor p50 + 1 agent-link RTT + 20 ms.

``--agent node`` runs the example Node agent (js/examples/agent/agent.mjs, LiveKit Agents for Node.js; with
``bench.echo`` through js/live/node_agent.mjs) in place of the Python one, with the same rounds and summary.

Prints one JSON summary per profile and a table of all. The figures are the machine's, on that run: compare
ratios within a run, never absolute figures across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from livekit import api, rtc

from bench.e2e_report import Samples, report, table
from bench.rpc_timing import CallerTimes, breakdown, breakdown_table
from harness import netns
from harness.audio_watch import AudioWatch
from harness.links import PROFILES, TIMING_ENV, ImpairedLinks, LinkedAgentWorker, Profile, server_rtc_options
from harness.livekit_server import LiveKitServer
from harness.node_agent_worker import NODE_AGENT, NodeAgentWorker, ensure_node_agent_built
from harness.participant import RoomParticipant, connect_participant
from shutdown_rpc.client_side import AgentLeftBeforeReply, RetryPolicy, ShutdownClient, ShutdownFailed
from shutdown_rpc.client_side._delivery import RpcFailure, deliver
from shutdown_rpc.client_side._perform_rpc import perform_rpc
from shutdown_rpc.client_side._server_api import ServerChannel
from shutdown_rpc.protocol import HmacSha256Key, build_request, dump_key_file, sign_request
from shutdown_rpc.protocol.wire import METHOD_NAME

ECHO_METHOD = "bench.echo"
WAIT_S = 60.0
DEADLINE_S = 20.0  # the caller's deadline for one request (deliver's timeout)
UTTERANCE = "x" * 500  # 20 s of tone at 40 ms per character (ToneTTS caps at 20 s)


class LinkedNodeAgentWorker(LinkedAgentWorker, NodeAgentWorker):
    """The Node agent worker behind the agent's link (``node js/live/node_agent.mjs dev`` inside its namespace)."""


def agent_worker(agent: str, links: ImpairedLinks, env: dict[str, str], workdir: Path) -> LinkedAgentWorker:
    """The worker of ``agent`` (python or node) behind the profile's links."""
    if agent == "node":
        env = {**env, "SHUTDOWN_RPC_BENCH_ECHO": "1"}
        node = str(ensure_node_agent_built())
        return LinkedNodeAgentWorker(
            NODE_AGENT, links=links, node=node, agent_name="bench", env=env, log_path=workdir / "worker.log"
        )
    return LinkedAgentWorker(
        "harness.link_agent", links=links, agent_name="bench", env=env, log_path=workdir / "worker.log"
    )


class Bench:
    """Rounds for one profile."""

    def __init__(self, server: LiveKitServer, links: ImpairedLinks, worker: LinkedAgentWorker, key: HmacSha256Key):
        self.server, self.links, self.worker, self.key = server, links, worker, key
        self.lkapi = api.LiveKitAPI(server.url, server.api_key, server.api_secret)
        self.client = ShutdownClient(None, issuer="bench", lkapi=self.lkapi)  # only its Channel is used
        self.samples = Samples()
        self.outcomes: Counter[str] = Counter()
        self.failures: list[str] = []
        self.times = CallerTimes()

    async def job(self) -> tuple[str, RoomParticipant, str, AudioWatch]:
        """A room with the user and a speaking agent: returns once the user hears the utterance."""
        room = f"bench-{uuid.uuid4().hex[:10]}"
        user = await connect_participant(
            self.links.user_url, self.server.api_key, self.server.api_secret, room=room, identity="user"
        )
        await self.worker.dispatch(self.lkapi, room)
        agent = await user.wait_for_agent(agent_name=self.worker.agent_name, timeout=WAIT_S)
        watch = AudioWatch(user.room, agent.identity).attach()
        await user.wait_until(lambda: bool(agent.attributes.get("shutdown_rpc.method")), timeout=WAIT_S)
        await watch.wait_loud(timeout=WAIT_S)
        return room, user, agent.identity, watch

    async def echo(self, room: str, agent: str, payload: str) -> float | None:
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
        except RpcFailure as exc:
            self.outcomes[f"echo_failed:{exc.message[:50]}"] += 1
            return None
        done = time.perf_counter()
        self.times.add(room, ECHO_METHOD, t, done)
        return (done - t) * 1000

    async def warm_up(self, room: str, agent: str, payload: str) -> None:
        """Discarded echoes until one succeeds (the agent's data channel can lag its join on lossy links)."""
        for _ in range(10):
            if await self.echo(room, agent, payload) is not None:
                return
            await asyncio.sleep(0.5)  # retry interval of a warm-up, not a measurement

    async def request_round(self, echoes: int) -> None:
        room, user, agent, watch = await self.job()
        gone_at: list[float] = []
        user.room.on(
            "participant_disconnected",
            lambda p: gone_at.append(time.perf_counter()) if p.identity == agent else None,
        )
        try:
            request = build_request(room=room, target=agent, reason="bench", issuer="bench")
            payload = sign_request(request, self.key)
            await self.warm_up(room, agent, payload)
            for _ in range(echoes):
                ms = await self.echo(room, agent, payload)
                if ms is not None:
                    self.samples.echo.append(ms)
            t0 = time.perf_counter()
            try:
                result = await asyncio.wait_for(
                    deliver(
                        ServerChannel(self.client.api, room, agent),
                        payload,
                        room=room,
                        agent=agent,
                        request_id=request.request_id,
                        timeout_s=DEADLINE_S,
                        policy=RetryPolicy(),  # what a backend uses: same-id retries within the deadline
                    ),
                    DEADLINE_S + 10,
                )
                acked_at = time.perf_counter()
                self.times.add(room, METHOD_NAME, t0, acked_at)
                self.samples.ack.append((acked_at - t0) * 1000)
                # delivered = the ack was in the caller's hands before the agent was seen leaving
                self.outcomes["ack_before_leave" if not gone_at or acked_at <= gone_at[0] else "ack_after_leave"] += 1
                if result.attempts > 1:
                    self.outcomes["acked_after_retry"] += 1
            except (ShutdownFailed, asyncio.TimeoutError) as exc:
                name = "Hang" if isinstance(exc, asyncio.TimeoutError) else type(exc).__name__
                self.outcomes[name] += 1
                self.samples.outcome_ms.append((time.perf_counter() - t0) * 1000)
                if not isinstance(exc, AgentLeftBeforeReply):
                    self.failures.append(f"{name}: {exc}")
                    await self.lkapi.room.delete_room(api.DeleteRoomRequest(room=room))
                    return
            await user.wait_participant_left(agent, timeout=WAIT_S)
            self.samples.gone["request"].append(((gone_at[0] if gone_at else time.perf_counter()) - t0) * 1000)
            self.samples.silence["request"].append(watch.silence_ms_after(t0))
        finally:
            await watch.close()
            await user.disconnect()

    async def delete_room_round(self) -> None:
        room, user, _agent, watch = await self.job()
        try:
            t0 = time.perf_counter()
            await self.lkapi.room.delete_room(api.DeleteRoomRequest(room=room))
            await user.wait_disconnected(timeout=WAIT_S)
            self.samples.gone["delete_room"].append((time.perf_counter() - t0) * 1000)
            self.samples.silence["delete_room"].append(watch.silence_ms_after(t0))
        finally:
            await watch.close()
            await user.disconnect()

    async def server_cut_round(self) -> None:
        """The anchor: the server stops forwarding the agent's audio (MutePublishedTrack); the user hears what was
        already on its way, then silence. The job is then ended with DeleteRoom (not measured)."""
        room, user, agent, watch = await self.job()
        try:
            track_sid = next(
                sid
                for sid, pub in user.room.remote_participants[agent].track_publications.items()
                if pub.kind == rtc.TrackKind.KIND_AUDIO
            )
            mute = api.MuteRoomTrackRequest(room=room, identity=agent, track_sid=track_sid, muted=True)
            t0 = time.perf_counter()
            await self.lkapi.room.mute_published_track(mute)
            await watch.wait_quiet(frames=50, timeout=WAIT_S)  # 0.5 s of quiet: the cut has reached the user
            self.samples.silence["server_cut"].append(watch.silence_ms_after(t0))
            await self.lkapi.room.delete_room(api.DeleteRoomRequest(room=room))
            await user.wait_disconnected(timeout=WAIT_S)
        finally:
            await watch.close()
            await user.disconnect()

    async def run(self, rounds: int, compare_every: int, echoes: int, lanes: int = 1) -> None:
        """``rounds`` request rounds over ``lanes`` concurrent rooms (the comparison rounds run in lane 0 only)."""
        started = time.monotonic()
        counter = iter(range(rounds))

        async def lane(index: int) -> None:
            for i in counter:
                await self.request_round(echoes)
                if index == 0 and compare_every and i % compare_every == 0:
                    await self.delete_room_round()
                    await self.server_cut_round()
                if (i + 1) % 10 == 0:
                    print(f"  {i + 1}/{rounds} rounds, {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)

        try:
            await asyncio.gather(*(lane(n) for n in range(lanes)))
        finally:
            await self.lkapi.aclose()


async def run_profile(profile: Profile, args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-e2e-{profile.name}-"))
    key = HmacSha256Key("bench-hmac", os.urandom(32))
    server = LiveKitServer(
        api_key="benchkey",
        api_secret=uuid.uuid4().hex * 2,
        log_path=workdir / "server.log",
        log_level="info",
        rtc_overrides=server_rtc_options(),
    )
    env = {"SHUTDOWN_RPC_KEYS": dump_key_file(key), "SHUTDOWN_RPC_GREETING": UTTERANCE}
    if args.flush_delay is not None:
        env["SHUTDOWN_RPC_REPLY_FLUSH_DELAY_S"] = str(args.flush_delay)
    agent_times = workdir / "agent-rpc-times.jsonl"
    if args.timing:
        env[TIMING_ENV] = str(agent_times)
    load_before = os.getloadavg()
    async with server, ImpairedLinks(server, profile, log_dir=workdir) as links:
        worker = agent_worker(args.agent, links, env, workdir)
        async with worker:
            bench = Bench(server, links, worker, key)
            t = time.monotonic()
            await bench.run(args.rounds, args.compare_every, args.echoes, args.concurrency)
            elapsed = time.monotonic() - t
    summary = report(
        profile,
        bench.samples,
        bench.outcomes,
        bench.failures,
        rounds=args.rounds,
        elapsed_s=elapsed,
        deadline_s=DEADLINE_S,
        load=(load_before, os.getloadavg()),
        workdir=workdir,
        agent=args.agent,
    )
    # the agent's receipt bound (None: its default) and the rounds in flight at once
    summary = {**summary, "flush_delay_s": args.flush_delay, "concurrency": args.concurrency}
    if args.timing:
        summary["rpc_legs_ms_p50_p99"] = legs = breakdown(bench.times, agent_times)
        print(breakdown_table(legs), file=sys.stderr, flush=True)
    return summary


async def run_all(names: list[str], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Profiles one after the other, in one event loop (the rtc SDK keeps one per process)."""
    summaries = []
    for name in names:
        summary = await run_profile(PROFILES[name], args)
        print(json.dumps(summary, indent=2), flush=True)
        summaries.append(summary)
        if args.json_out is not None:
            args.json_out.write_text(json.dumps(summaries, indent=2))
    return summaries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_e2e", description=__doc__.split("\n")[0])
    parser.add_argument("--profile", action="append", choices=[*PROFILES, "all"], help="repeatable; default clean")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--compare-every", type=int, default=4, help="a DeleteRoom job every N rounds")
    parser.add_argument("--echoes", type=int, default=2, help="warm echoes per round (after one discarded)")
    parser.add_argument("--flush-delay", type=float, default=None, help="agent's reply flush delay (s)")
    parser.add_argument("--json-out", type=Path, default=None, help="also write the summaries to this file")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="request rounds in flight at once (delivery sweeps; latency: 1)"
    )
    parser.add_argument(
        "--timing", action="store_true", help="per-leg times of echo and request (Python agent; bench/rpc_timing.py)"
    )
    parser.add_argument("--agent", choices=["python", "node"], default="python", help="the example agent's language")
    args = parser.parse_args(argv)
    if args.agent == "node" and "blackout" in (args.profile or []):
        parser.error("the blackout profile needs the Python agent (harness/link_agent.py asks the relay for it)")
    names = args.profile or ["clean"]
    names = list(PROFILES) if "all" in names else names
    if not netns.isolate_command_line_tool():  # before the rtc SDK starts its threads
        return 1
    summaries = asyncio.run(run_all(names, args))
    print(table(summaries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
