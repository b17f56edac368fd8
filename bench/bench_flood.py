"""Flood benchmark on a real livekit-server: valid requests while hostile callers send invalid ones. Measured,
not asserted.

    .venv/bin/python -m bench.bench_flood [--rounds 6] [--window 3] [--rate 1000] [--participant-in-flight 32]

One worker (bench/flood_agent.py: the example agent, speaking a long greeting, plus a stats RPC) serves a new
room per round; "user" sits in the room and counts the agent's audio. Per round, in alternating order, a QUIET
window and a FLOOD window of ``--window`` seconds; during a flood window two hostile callers send invalid
requests at the agent's shutdown method, each ``--rate`` calls per second on schedule whatever the answers do
(open loop, at most ``--participant-in-flight`` / ``--server-api-in-flight`` unanswered; a call due beyond
that is counted, not sent):

* a participant "attacker" in the room (``perform_rpc``), and
* a RoomService.PerformRpc caller (the server API; livekit-server gives each call a fresh caller identity),

cycling through garbage, wrong signatures, expired requests, replays of a request for another room, oversize
payloads and unknown key ids. In both windows a backend sends valid signed PROBES (issuer ``bench-probe``,
which the agent verifies fully and then vetoes, so the job goes on) every 100 ms through PerformRpc. At the end
of each round one valid request ends the job: under flood in even rounds, quiet in odd ones.

Reported (JSON summary; ratios flood/quiet from the same run): valid request -> ack p50/p99 and probe ->
answer p50/p99; the agent's event-loop lag and CPU (cores); hostile calls due and sent per second (the
offered rate: a 2-core machine runs the attackers, the server and the agent together), how many the agent
processed (verified and refused) vs dropped before any work (RATE_LIMITED) or never saw; audio received per
second by the user (1.0 = the session kept speaking in real time); and every valid request that was NOT
answered as it should be (must be 0: garbage never causes the refusal of a valid signed request).
Targets (issue 12): ack p99 under flood <= 2x quiet (the probes give the most samples); >= 1000 invalid RPC/s
per hostile caller. ``--attackers participant`` floods from the participant alone, which the agent removes once it
keeps calling over its refusal budget (``RateLimit.evict_after``): the probes sent after that moment are reported
apart (issue 22: their p99 <= 3x quiet).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from livekit import api, rtc

from harness import netns
from harness.agent_worker import AgentWorker
from harness.livekit_server import LiveKitServer
from harness.participant import RoomParticipant, connect_participant
from shutdown_rpc.client_side._delivery import RpcFailure
from shutdown_rpc.client_side._perform_rpc import perform_rpc
from shutdown_rpc.protocol import ErrorCode, HmacSha256Key, build_request, dump_key_file, sign_request
from shutdown_rpc.protocol.wire import METHOD_NAME

# imported by name, as bench_agent does: mypy checks bench/ as top-level modules, python -m runs it as a package
Hostile: Any = importlib.import_module("bench.flood_hostile").Hostile
STATS_METHOD = "bench.stats"
PROBE_ISSUER = "bench-probe"
WAIT_S = 60.0
GREETING = "This is the flood benchmark speaking, sentence after sentence. " * 40  # ~100 s of tone
VETOED = int(ErrorCode.VETOED)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def p50_p99_n(values: list[float]) -> tuple[float, float, int]:
    return round(pct(values, 0.5), 2), round(pct(values, 0.99), 2), len(values)


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else float("nan")


def uptime() -> str:
    return Path("/proc/loadavg").read_text().strip()


class AudioMeter:
    """Seconds of the agent's audio the user received, with arrival times."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, float]] = []  # (monotonic, seconds of audio)
        self._task: asyncio.Task[None] | None = None

    def attach(self, user: RoomParticipant, agent: str) -> None:
        def on_track(track: rtc.Track, _pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant) -> None:
            if p.identity == agent and track.kind == rtc.TrackKind.KIND_AUDIO and self._task is None:
                self._task = asyncio.create_task(self._count(rtc.AudioStream(track)))

        user.room.on("track_subscribed", on_track)
        for p in user.room.remote_participants.values():
            if p.identity == agent:
                for pub in p.track_publications.values():
                    if pub.track is not None:
                        on_track(pub.track, pub, p)

    async def _count(self, stream: rtc.AudioStream) -> None:
        async for event in stream:
            frame = event.frame
            self.arrivals.append((time.monotonic(), frame.samples_per_channel / frame.sample_rate))

    def seconds_per_second(self, t0: float, t1: float) -> float:
        got = sum(s for t, s in self.arrivals if t0 <= t < t1)
        return round(got / (t1 - t0), 3)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()


@dataclass
class Window:
    kind: str
    probe_ms: list[float] = field(default_factory=list)
    probe_sent_at: list[float] = field(default_factory=list)  # time.monotonic() of each probe_ms sample
    probe_after_eviction_ms: list[float] = field(default_factory=list)  # probes sent after the attacker was removed
    probe_wrong: list[str] = field(default_factory=list)
    lag: dict[str, float] = field(default_factory=dict)
    cpu_cores: float = 0.0
    audio_s_per_s: float = 0.0
    hostile_due: dict[str, int] = field(default_factory=dict)
    hostile_sent: dict[str, int] = field(default_factory=dict)
    hostile_seconds: dict[str, float] = field(default_factory=dict)
    hostile_outcomes: dict[str, dict[str, int]] = field(default_factory=dict)
    agent_outcomes: dict[str, int] = field(default_factory=dict)
    attacker_evicted: bool = False  # the agent removed the participant attacker (RateLimit.evict_after)
    seconds: float = 0.0


class Bench:
    def __init__(self, server: LiveKitServer, worker: AgentWorker, key: HmacSha256Key, args: argparse.Namespace):
        self.server, self.worker, self.key, self.args = server, worker, key, args
        self.lkapi = api.LiveKitAPI(server.url, server.api_key, server.api_secret)
        self.windows: list[Window] = []
        self.ack_ms: dict[str, list[float]] = {"quiet": [], "flood": []}
        self.final_wrong: list[str] = []

    async def start_hostile(self, room: str, agent: str) -> Any:
        return await Hostile.start(
            self.server,
            self.key,
            room,
            agent,
            seconds=WAIT_S,
            rate=self.args.rate,
            max_in_flight=self.in_flight_caps(),
        )

    def in_flight_caps(self) -> dict[str, int]:
        """The in-flight cap of each hostile caller that floods (``--attackers``)."""
        caps = {"participant": self.args.participant_in_flight, "server_api": self.args.server_api_in_flight}
        return {name: caps[name] for name in self.args.attackers.split(",")}

    async def rpc(self, room: str, agent: str, method: str, payload: str, timeout: float = 10.0) -> str:
        answer: str = await perform_rpc(
            self.lkapi,
            room=room,
            destination_identity=agent,
            method=method,
            payload=payload,
            response_timeout_s=timeout,
            timeout_s=timeout + 5,
        )
        return answer

    async def stats(self, room: str, agent: str, *, reset: bool = False) -> dict[str, Any]:
        answer = await self.rpc(room, agent, STATS_METHOD, "reset" if reset else "read", timeout=15.0)
        data: dict[str, Any] = json.loads(answer)
        return data

    async def probes(self, room: str, agent: str, until: float, window: Window) -> None:
        """A valid signed probe every 100 ms; each must come back VETOED (= fully verified)."""
        pending: list[asyncio.Task[None]] = []

        async def one() -> None:
            request = build_request(room=room, target=agent, reason="probe", issuer=PROBE_ISSUER)
            payload = sign_request(request, self.key)
            sent_at, t = time.monotonic(), time.perf_counter()
            try:
                await self.rpc(room, agent, METHOD_NAME, payload)
                window.probe_wrong.append("answered ack (expected VETOED)")
            except RpcFailure as err:
                if err.rpc_code == VETOED:
                    window.probe_ms.append((time.perf_counter() - t) * 1000)
                    window.probe_sent_at.append(sent_at)
                else:
                    window.probe_wrong.append(f"{err.rpc_code or err.kind.value}: {err.message[:80]}")

        while time.monotonic() < until:
            pending.append(asyncio.create_task(one()))
            await asyncio.sleep(0.1)  # the probes' send rate, not a synchronisation sleep
        await asyncio.gather(*pending)

    async def window(self, kind: str, room: str, agent: str, audio: AudioMeter) -> None:
        w = Window(kind)
        before = await self.stats(room, agent, reset=True)
        hostile = await self.start_hostile(room, agent) if kind == "flood" else None
        t0 = time.monotonic()
        await self.probes(room, agent, t0 + self.args.window, w)
        t1 = time.monotonic()
        counts = await hostile.stop() if hostile is not None else {}
        after = await self.stats(room, agent)
        w.seconds = t1 - t0
        w.lag = after["lag_ms"]
        w.cpu_cores = round((after["cpu_s"] - before["cpu_s"]) / (after["mono_s"] - before["mono_s"]), 3)
        w.audio_s_per_s = audio.seconds_per_second(t0, t1)
        w.hostile_due = {name: c["due"] for name, c in counts.items()}
        w.hostile_sent = {name: c["sent"] for name, c in counts.items()}
        w.hostile_seconds = {name: c["seconds"] for name, c in counts.items()}
        w.hostile_outcomes = {name: c["outcomes"] for name, c in counts.items()}
        w.attacker_evicted = bool(counts.get("participant", {}).get("evicted", False))
        evicted_at = counts.get("participant", {}).get("evicted_at")
        if evicted_at is not None:
            sent = zip(w.probe_ms, w.probe_sent_at, strict=True)
            w.probe_after_eviction_ms = [ms for ms, at in sent if at > evicted_at]
        o0, o1 = before["outcomes"], after["outcomes"]
        w.agent_outcomes = {k: v - o0.get(k, 0) for k, v in o1.items() if v - o0.get(k, 0)}
        self.windows.append(w)

    async def round(self, i: int) -> None:
        room = f"flood-{uuid.uuid4().hex[:10]}"
        user = await connect_participant(
            self.server.url, self.server.api_key, self.server.api_secret, room=room, identity="user"
        )
        audio = AudioMeter()
        try:
            await self.worker.dispatch(self.lkapi, room)
            remote = await user.wait_for_agent(agent_name=self.worker.agent_name, timeout=WAIT_S)
            agent = remote.identity
            await user.wait_until(lambda: bool(remote.attributes.get("shutdown_rpc.method")), timeout=WAIT_S)
            audio.attach(user, agent)
            await user.wait_until(lambda: bool(audio.arrivals), timeout=WAIT_S, what="the agent's audio")
            for kind in ("quiet", "flood") if i % 2 == 0 else ("flood", "quiet"):
                await self.window(kind, room, agent, audio)
            await self.final(room, agent, under_flood=i % 2 == 0)
            await user.wait_participant_left(agent, timeout=WAIT_S)
        finally:
            await audio.close()
            await user.disconnect()

    async def final(self, room: str, agent: str, *, under_flood: bool) -> None:
        """One valid request that ends the job; under flood, the flood has run for a second already."""
        hostile = await self.start_hostile(room, agent) if under_flood else None
        if hostile is not None:
            await asyncio.sleep(1.0)  # let the flood reach its rate before the measured request
        payload = sign_request(build_request(room=room, target=agent, reason="bench", issuer="bench"), self.key)
        t = time.perf_counter()
        try:
            answer = await self.rpc(room, agent, METHOD_NAME, payload)
            status = json.loads(answer).get("status")
            if status == "accepted":
                self.ack_ms["flood" if under_flood else "quiet"].append((time.perf_counter() - t) * 1000)
            else:
                self.final_wrong.append(f"status {status}")
        except RpcFailure as err:
            self.final_wrong.append(f"{err.rpc_code or err.kind.value}: {err.message[:80]}")
            await self.lkapi.room.delete_room(api.DeleteRoomRequest(room=room))
        finally:
            if hostile is not None:
                await hostile.stop()

    def report(self, load_before: str, load_after: str, elapsed: float) -> dict[str, object]:
        by = {k: [w for w in self.windows if w.kind == k] for k in ("quiet", "flood")}

        def merged(kind: str, attr: str) -> list[float]:
            return [x for w in by[kind] for x in getattr(w, attr)]

        def mean(kind: str, get: Callable[[Window], float]) -> float:
            values = [get(w) for w in by[kind]]
            return round(sum(values) / len(values), 3) if values else float("nan")

        def summed(kind: str, get: Callable[[Window], dict[str, int]]) -> dict[str, int]:
            total: Counter[str] = Counter()
            for w in by[kind]:
                total.update(get(w))
            return dict(total)

        sent = summed("flood", lambda w: w.hostile_sent)
        due = summed("flood", lambda w: w.hostile_due)
        flood_s = {k: sum(w.hostile_seconds.get(k, 0.0) for w in by["flood"]) for k in sent}
        agent_seen = summed("flood", lambda w: w.agent_outcomes)
        probe_q, probe_f = p50_p99_n(merged("quiet", "probe_ms")), p50_p99_n(merged("flood", "probe_ms"))
        probe_e = p50_p99_n(merged("flood", "probe_after_eviction_ms"))
        ack_q, ack_f = p50_p99_n(self.ack_ms["quiet"]), p50_p99_n(self.ack_ms["flood"])
        hostile_total = sum(sent.values())
        processed = sum(v for k, v in agent_seen.items() if k not in ("rate_limited", "vetoed"))
        return {
            "rounds": self.args.rounds,
            "window_s": self.args.window,
            "rate_per_hostile_caller": self.args.rate,
            "max_in_flight": self.in_flight_caps(),
            "agent_log_level": self.args.agent_log_level or "default",
            "elapsed_s": round(elapsed, 1),
            "loadavg_before_after": [load_before, load_after],
            "valid_ack_ms_p50_p99_n": {"quiet": ack_q, "flood": ack_f},
            "valid_ack_flood_over_quiet_p50_p99": (ratio(ack_f[0], ack_q[0]), ratio(ack_f[1], ack_q[1])),
            "probe_answer_ms_p50_p99_n": {"quiet": probe_q, "flood": probe_f},
            "probe_flood_over_quiet_p50_p99": (ratio(probe_f[0], probe_q[0]), ratio(probe_f[1], probe_q[1])),
            # the participant flood once the agent removed the attacker (RateLimit.evict_after)
            "probe_after_eviction_ms_p50_p99_n": probe_e,
            "probe_after_eviction_over_quiet_p50_p99": (ratio(probe_e[0], probe_q[0]), ratio(probe_e[1], probe_q[1])),
            "valid_requests_not_answered_as_expected": [w for x in self.windows for w in x.probe_wrong]
            + self.final_wrong,
            # due (the schedule) and sent (due and under the in-flight cap) per second of flooding
            "hostile_rpc_due_per_s": {k: round(v / flood_s[k], 1) if flood_s[k] else 0.0 for k, v in due.items()},
            "hostile_rpc_per_s": {k: round(v / flood_s[k], 1) if flood_s[k] else 0.0 for k, v in sent.items()},
            "hostile_outcomes_seen_by_callers": {
                "participant": summed("flood", lambda w: w.hostile_outcomes.get("participant", {})),
                "server_api": summed("flood", lambda w: w.hostile_outcomes.get("server_api", {})),
            },
            "agent_outcomes_during_flood": agent_seen,
            "participant_attacker_evicted_in_flood_windows": sum(w.attacker_evicted for w in by["flood"]),
            "hostile_processed_vs_dropped": {
                "sent": hostile_total,
                "processed_by_verifier": processed,
                "dropped_rate_limited": agent_seen.get("rate_limited", 0),
                "never_reached_handler": hostile_total - processed - agent_seen.get("rate_limited", 0),
            },
            "agent_loop_lag_ms": {k: [w.lag for w in by[k]] for k in by},
            "windows": [
                {"kind": w.kind, "probe_s": round(w.seconds, 1), "hostile_s": w.hostile_seconds, "sent": w.hostile_sent}
                for w in self.windows
            ],
            "agent_cpu_cores": {
                "quiet": mean("quiet", lambda w: w.cpu_cores),
                "flood": mean("flood", lambda w: w.cpu_cores),
            },
            "audio_s_per_s": {
                "quiet": mean("quiet", lambda w: w.audio_s_per_s),
                "flood": mean("flood", lambda w: w.audio_s_per_s),
            },
        }


async def amain(args: argparse.Namespace) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-flood-"))
    key = HmacSha256Key("bench-hmac", os.urandom(32))
    server = LiveKitServer(
        api_key="benchkey", api_secret=uuid.uuid4().hex * 2, log_path=workdir / "server.log", log_level="warn"
    )
    env = {
        "SHUTDOWN_RPC_KEYS": dump_key_file(key),
        "SHUTDOWN_RPC_EVENTS_FILE": str(workdir / "events.jsonl"),
        "SHUTDOWN_RPC_GREETING": GREETING,
    }
    if args.agent_log_level:
        env["BENCH_AGENT_LOG_LEVEL"] = args.agent_log_level
    worker = AgentWorker(
        "bench.flood_agent",
        server=server,
        agent_name="flood",
        env=env,
        log_path=workdir / "worker.log",
        record_file=workdir / "record.jsonl",
    )
    load_before = uptime()
    t = time.monotonic()
    await asyncio.to_thread(server.start)
    try:
        await asyncio.to_thread(worker.start)
        bench = Bench(server, worker, key, args)
        try:
            for i in range(args.rounds):
                await bench.round(i)
                print(f"  round {i + 1}/{args.rounds} done, {time.monotonic() - t:.0f}s", file=sys.stderr, flush=True)
        finally:
            await bench.lkapi.aclose()
        return bench.report(load_before, uptime(), time.monotonic() - t)
    finally:
        await asyncio.to_thread(worker.stop)
        await asyncio.to_thread(server.stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_flood", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=6, help="jobs; each has a quiet and a flood window")
    parser.add_argument("--window", type=float, default=3.0, help="seconds per quiet/flood window")
    parser.add_argument("--rate", type=float, default=1000.0, help="invalid calls per second per hostile caller")
    # Every pending perform_rpc of livekit-rtc (Python) listens to every FFI event of its process, so a
    # participant's cost per call grows with its calls in flight: a few dozen is its fastest setting here.
    parser.add_argument("--participant-in-flight", type=int, default=32, help="the hostile participant's cap")
    parser.add_argument("--server-api-in-flight", type=int, default=1000, help="the PerformRpc caller's cap")
    parser.add_argument(
        "--attackers", default="participant,server_api", help="hostile callers that flood (participant: eviction)"
    )
    parser.add_argument("--agent-log-level", default="", help="e.g. ERROR: the agent's shutdown_rpc log level")
    args = parser.parse_args(argv)
    if not netns.isolate_command_line_tool():  # before the rtc SDK starts its threads
        return 1
    report = asyncio.run(amain(args))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
