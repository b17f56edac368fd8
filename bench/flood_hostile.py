"""The hostile side of bench_flood: invalid payloads of every kind, concurrent callers that send them, and the
child process they run in (``python -m bench.flood_hostile SPEC_JSON``, started by :class:`Hostile`)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from livekit import api, rtc

from harness.livekit_server import LiveKitServer
from harness.participant import connect_participant
from shutdown_rpc.client_side._delivery import RpcFailure
from shutdown_rpc.client_side._perform_rpc import perform_rpc
from shutdown_rpc.protocol import HmacSha256Key, build_request, dump_key_file, parse_key_file, sign_request
from shutdown_rpc.protocol.wire import METHOD_NAME, FixedClock

WAIT_S = 60.0


class Garbage:
    """Invalid payloads for one room and agent, one of each kind in turn."""

    KINDS = ("garbage", "wrong_signature", "expired", "replay_other_room", "oversize", "unknown_key")

    def __init__(self, key: HmacSha256Key, room: str, agent: str) -> None:
        forged = HmacSha256Key(key.key_id, os.urandom(32))  # right key id, wrong secret
        stranger = HmacSha256Key("not-a-key-of-this-agent", os.urandom(32))
        old = FixedClock(1_700_000_000_000)
        self.payloads = [
            base64.b64encode(os.urandom(180)).decode(),
            sign_request(build_request(room=room, target=agent, reason="x", issuer="attacker"), forged),
            sign_request(build_request(room=room, target=agent, reason="x", issuer="attacker", clock=old), key),
            sign_request(build_request(room="another-room", target=agent, reason="x", issuer="backend"), key),
            "A" * 5000,
            sign_request(build_request(room=room, target=agent, reason="x", issuer="attacker"), stranger),
        ]
        self.i = 0

    def next(self) -> str:
        self.i += 1
        return self.payloads[self.i % len(self.payloads)]


@dataclass
class Flooder:
    """Open loop: ``rate`` calls per second of ``send(payload)``, started on schedule whatever the answers do,
    with at most ``max_in_flight`` unanswered (a call due while that many are pending is counted as
    ``not_sent_in_flight_cap``, not sent). A closed loop (send, await the answer, send again) slows down exactly
    when the agent does, so it never offers the agent more than it can take; an attacker does not wait."""

    name: str
    send: Callable[[str], Awaitable[object]]
    garbage: Garbage
    rate: float
    max_in_flight: int
    sent: int = 0
    due: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _pacer: asyncio.Task[None] | None = None
    _in_flight: set[asyncio.Task[None]] = field(default_factory=set)

    async def _one(self, payload: str) -> None:
        try:
            await asyncio.wait_for(self.send(payload), 15)
            self.outcomes["answered"] += 1
        except rtc.RpcError as err:
            self.outcomes[str(err.code)] += 1
        except RpcFailure as err:
            self.outcomes[str(err.rpc_code or err.kind.value)] += 1
        except Exception as exc:  # keep flooding whatever happens (a timeout included); count it
            self.outcomes[type(exc).__name__] += 1

    async def _pace(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        while not self._stop.is_set():
            due_now = int((loop.time() - started) * self.rate)
            while self.due < due_now:
                self.due += 1
                if len(self._in_flight) >= self.max_in_flight:
                    self.outcomes["not_sent_in_flight_cap"] += 1
                    continue
                self.sent += 1
                task = asyncio.create_task(self._one(self.garbage.next()))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
            await asyncio.sleep(0.002)  # the pacer's tick: calls due meanwhile start together at the next one

    def start(self) -> None:
        self._stop.clear()
        self._pacer = asyncio.create_task(self._pace())

    async def stop(self) -> None:
        """No new calls; the calls in flight still finish (each within its timeout) and count their outcomes."""
        self._stop.set()
        if self._pacer is not None:
            await self._pacer
        await asyncio.gather(*self._in_flight, return_exceptions=True)


class Hostile:
    """The hostile callers, in a child process of their own (this module run with ``-m``): the measuring
    process's event loop stays free for the probes, and the flood's cost shows up where it would in production
    (agent, server)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(
        cls,
        server: LiveKitServer,
        key: HmacSha256Key,
        room: str,
        agent: str,
        *,
        seconds: float,
        rate: float,
        max_in_flight: dict[str, int],
    ) -> Hostile:
        spec = {
            "url": server.url,
            "api_key": server.api_key,
            "api_secret": server.api_secret,
            "key": dump_key_file(key),
            "room": room,
            "agent": agent,
            "seconds": seconds,
            "rate": rate,
            "max_in_flight": max_in_flight,  # its keys name the hostile callers that flood
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.flood_hostile",
            json.dumps(spec),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        ready = await asyncio.wait_for(proc.stdout.readline(), WAIT_S)
        if ready.strip() != b"flooding":
            raise RuntimeError(f"hostile process did not start: {ready!r}")
        return cls(proc)

    async def stop(self) -> dict[str, dict[str, Any]]:
        """Stop the flood (closing the child's stdin); the counts per hostile caller ({} if it never answered)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        try:
            out = await asyncio.wait_for(self.proc.stdout.readline(), WAIT_S)
        except asyncio.TimeoutError:
            out = b""
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except asyncio.TimeoutError:  # e.g. stuck leaving the room: the counts are in already
            self.proc.kill()
            await self.proc.wait()
        if not out:
            print("  hostile process gave no counts (killed)", file=sys.stderr, flush=True)
            return {}
        counts: dict[str, dict[str, Any]] = json.loads(out)
        return counts


async def hostile_main(spec: dict[str, Any]) -> None:
    """Child process: connect "attacker", flood until stdin closes (or ``seconds``), print the counts as JSON."""
    key = parse_key_file(spec["key"])
    assert isinstance(key, HmacSha256Key)
    room, agent = spec["room"], spec["agent"]
    garbage = Garbage(key, room, agent)
    attacker = await connect_participant(
        spec["url"], spec["api_key"], spec["api_secret"], room=room, identity="attacker"
    )
    # when the agent removed the attacker (CLOCK_MONOTONIC, which the parent reads too)
    evicted_at: list[float] = []
    attacker.room.on("disconnected", lambda *_: evicted_at.append(time.monotonic()))
    # aiohttp's default pool holds 100 connections: more calls in flight than that would queue in the client
    # and never reach the server, which would hide the flood's cost there.
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    lkapi = api.LiveKitAPI(spec["url"], spec["api_key"], spec["api_secret"], session=session)

    async def as_participant(payload: str) -> object:
        return await attacker.local.perform_rpc(
            destination_identity=agent, method=METHOD_NAME, payload=payload, response_timeout=5.0
        )

    async def as_server_api(payload: str) -> object:
        return await perform_rpc(
            lkapi,
            room=room,
            destination_identity=agent,
            method=METHOD_NAME,
            payload=payload,
            response_timeout_s=5.0,
            timeout_s=10.0,
        )

    flooders = [
        Flooder(name, send, garbage, spec["rate"], spec["max_in_flight"][name])
        for name, send in (("participant", as_participant), ("server_api", as_server_api))
        if name in spec["max_in_flight"]
    ]
    # The parent stops the flood by closing our stdin (a thread waits for EOF: nothing the busy loop can starve).
    stop = asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for f in flooders:
        f.start()
    print("flooding", flush=True)
    t0 = time.monotonic()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop, spec["seconds"])
    seconds = time.monotonic() - t0
    for f in flooders:
        await f.stop()  # calls in flight still finish (and count their outcomes); no new ones start
    counts: dict[str, dict[str, Any]] = {
        f.name: {"due": f.due, "sent": f.sent, "seconds": seconds, "outcomes": dict(f.outcomes)} for f in flooders
    }
    # the agent removes a participant that keeps calling over its refusal budget (RateLimit.evict_after)
    if "participant" in counts:
        counts["participant"]["evicted"] = not attacker.room.isconnected()
        counts["participant"]["evicted_at"] = evicted_at[0] if evicted_at else None
        counts["participant"]["disconnect_reason"] = str(attacker.disconnect_reason)
    print(json.dumps(counts), flush=True)
    await lkapi.aclose()
    await session.close()
    await attacker.disconnect()


if __name__ == "__main__":
    asyncio.run(hostile_main(json.loads(sys.argv[1])))
