"""The demo: a backend asks a running LiveKit agent to end its job, over signed RPC, on a local server.

``python -m harness.demo`` (or ``bash scripts/demo.sh`` on a fresh machine, which sets things up first):

1. starts livekit-server (dev mode, loopback, free ports);
2. makes a throwaway Ed25519 key pair: the backend keeps the private key, the agent gets only the public key
   (a key file named by ``SHUTDOWN_RPC_KEYS``);
3. starts the example agent (examples/agent.py: an AgentSession speaking through an offline tone TTS) as a
   worker, a Python participant "user" joins a room, and the agent is dispatched into it;
4. the backend sends a signed shutdown through RoomService.PerformRpc (it never joins the room);
5. prints a timeline in milliseconds since the request: ack received, shutdown callback ran with the reason,
   agent left the room, job process ended; checks that the room and "user" are still there;
6. stops everything. Exit 0 on success, 1 with a message on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from livekit import api, rtc

from harness import netns
from harness.agent_worker import AgentWorker, RecordFile, process_gone
from harness.livekit_server import LiveKitServer
from harness.participant import connect_participant
from shutdown_rpc.client_side import ShutdownClient, ShutdownCommand, ShutdownFailed
from shutdown_rpc.protocol import Ed25519SigningKey, dump_key_file

REPO_ROOT = Path(__file__).resolve().parent.parent
# examples/agent.py with a worker that always reports load 0 (see harness/steady_example_agent.py)
EXAMPLE_AGENT = "harness.steady_example_agent"
DEMO_API_KEY = "demokey"
ISSUER = "demo-backend"
REASON = "the demo is over"


class DemoError(RuntimeError):
    """A step of the demo failed; the message says which."""


@dataclass
class Timeline:
    """Wall-clock instants (ms since the epoch, the clock the agent records with too)."""

    t0_ms: float = 0.0
    rows: list[tuple[float, str]] = field(default_factory=list)

    def add(self, at_ms: float, what: str) -> None:
        self.rows.append((at_ms, what))

    def render(self) -> str:
        lines = [f"{'ms':>9}  event", f"{'-' * 9}  {'-' * 60}"]
        for at, what in sorted(self.rows, key=lambda r: r[0]):
            lines.append(f"{at - self.t0_ms:9.1f}  {what}")
        return "\n".join(lines)


def now_ms() -> float:
    return time.time() * 1000


def job_pid(worker: AgentWorker, job_id: str) -> int:
    """The job process's pid, from the worker log (livekit-agents tags job-process lines with pid and job_id)."""
    pattern = re.compile(r'"pid": (\d+)[^\n]*"job_id": "' + re.escape(job_id) + '"')
    found = pattern.search(re.sub(r"\x1b\[[0-9;]*m", "", worker.log_tail(max_chars=1 << 24)))
    if found is None:
        raise DemoError(f"cannot find the process of job {job_id} in {worker.log_path}")
    return int(found.group(1))


async def wait_for(condition_name: str, check: object, timeout: float) -> None:
    """Poll ``check()`` (a zero-argument callable returning bool) until true; DemoError after ``timeout``."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {timeout:.0f}s waiting for {condition_name}")
        await asyncio.sleep(0.01)  # poll interval


async def run_demo(workdir: Path, timeout: float) -> Timeline:
    room = f"demo-{uuid.uuid4().hex[:8]}"
    key = Ed25519SigningKey.generate("demo-ed25519")
    agent_key_file = workdir / "agent-public.key.json"
    agent_key_file.write_text(dump_key_file(key.verifying_key()))  # the agent holds only the public key
    events = RecordFile(workdir / "agent-events.jsonl")

    print(f"==> starting livekit-server (loopback); logs in {workdir}", flush=True)
    server = LiveKitServer(
        api_key=DEMO_API_KEY, api_secret=uuid.uuid4().hex + uuid.uuid4().hex, log_path=workdir / "server.log"
    )
    await asyncio.to_thread(server.start)
    worker = AgentWorker(
        EXAMPLE_AGENT,
        server=server,
        agent_name="shutdown-rpc-demo",
        env={
            "SHUTDOWN_RPC_KEYS": str(agent_key_file),
            "SHUTDOWN_RPC_EVENTS_FILE": str(events.path),
            "SHUTDOWN_RPC_GREETING": "Hello from the demo agent.",
        },
        log_path=workdir / "worker.log",
        ready_timeout=timeout,
    )
    lkapi = api.LiveKitAPI(server.url, server.api_key, server.api_secret)
    user = None
    try:
        print("==> starting the example agent worker (examples/agent.py)", flush=True)
        await asyncio.to_thread(worker.start)
        user = await connect_participant(
            server.url, server.api_key, server.api_secret, room=room, identity="user", timeout=timeout
        )
        print(f"==> 'user' joined room {room!r}; dispatching the agent", flush=True)
        await worker.dispatch(lkapi, room)
        started = await events.wait_for(room=room, event="entrypoint_started", timeout=timeout)
        agent = await user.wait_for_agent(agent_name=worker.agent_name, timeout=timeout)
        await user.wait_until(
            lambda: bool(agent.attributes.get("shutdown_rpc.method")), timeout=timeout, what="shutdown advert"
        )
        pid = job_pid(worker, started["job_id"])
        print(f"==> agent {agent.identity!r} (job {started['job_id']}, pid {pid}) is in the room", flush=True)

        timeline = Timeline()
        left_at: list[float] = []

        def on_left(participant: rtc.RemoteParticipant) -> None:
            if participant.identity == agent.identity:
                left_at.append(now_ms())

        user.room.on("participant_disconnected", on_left)
        client = ShutdownClient(key, issuer=ISSUER, lkapi=lkapi)
        print(f"==> backend sends a signed shutdown via RoomService.PerformRpc (issuer {ISSUER!r})", flush=True)
        timeline.t0_ms = now_ms()
        timeline.add(timeline.t0_ms, "request sent (RoomService.PerformRpc, Ed25519-signed)")
        try:
            result = await client.shutdown(room, ShutdownCommand(reason=REASON), agent=agent.identity, timeout=timeout)
        except ShutdownFailed as exc:
            raise DemoError(f"the shutdown call failed: {type(exc).__name__}: {exc}") from None
        timeline.add(now_ms(), f"ack received: status={result.status.value} request_id={result.request_id}")
        accepted = await events.wait_for(room=room, event="remote_shutdown_accepted", timeout=timeout)
        timeline.add(accepted["wall_ms"], "agent accepted the request (agent clock)")

        callback = await events.wait_for(room=room, event="shutdown_callback", timeout=timeout)
        timeline.add(callback["wall_ms"], f"shutdown callback ran with reason: {callback['reason']!r}")
        await wait_for("the agent to leave the room", lambda: bool(left_at), timeout)
        timeline.add(left_at[0], f"agent participant {agent.identity!r} left the room")
        await wait_for("the job process to exit", lambda: process_gone(pid), timeout)
        timeline.add(now_ms(), f"job ended (process {pid} exited; observed by polling)")

        expected = f"remote shutdown by {ISSUER} [{result.request_id}]: {REASON}"
        if result.status != "accepted":
            raise DemoError(f"expected an 'accepted' ack, got {result.status!r}")
        if callback["reason"] != expected:
            raise DemoError(f"the callback got {callback['reason']!r}, expected {expected!r}")
        if len(events.events(room=room, event="shutdown_callback")) != 1:
            raise DemoError("the shutdown callback did not run exactly once")
        listing = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
        remaining = sorted(p.identity for p in listing.participants)
        if remaining != ["user"] or not user.room.isconnected():
            raise DemoError(f"expected only 'user' left in a live room, found {remaining}")
        timeline.add(now_ms(), f"room {room!r} still alive with participants {remaining}")
        return timeline
    finally:
        if user is not None:
            await user.disconnect()
        await lkapi.aclose()
        await asyncio.to_thread(worker.stop)
        await asyncio.to_thread(server.stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--timeout", type=float, default=90.0, help="upper bound of each wait, seconds")
    parser.add_argument("--keep-logs", action="store_true", help="keep the temporary directory with the logs")
    args = parser.parse_args(argv)
    # WebRTC in the rtc SDK offers no loopback candidates: a private namespace keeps all traffic on this machine.
    isolation_error = netns.isolate_process()
    if isolation_error is not None:
        print(f"DEMO FAILED: cannot set up the private network namespace: {isolation_error}", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="shutdown-rpc-demo-"))
    try:
        timeline = asyncio.run(run_demo(workdir, args.timeout))
    except (DemoError, TimeoutError, OSError, RuntimeError) as exc:
        print(f"\nDEMO FAILED: {type(exc).__name__}: {exc}\n(logs kept in {workdir})", file=sys.stderr)
        return 1
    print("\nTimeline (ms since the request was sent; wall clock shared by backend, agent and user):")
    print(timeline.render())
    print("\nDEMO OK: the agent acknowledged first, ran its shutdown callback with the caller's reason, left the")
    print("room and its job ended; the room and the other participant stayed. Everything started was stopped.")
    if not args.keep_logs:
        for path in sorted(workdir.iterdir()):
            path.unlink()
        os.rmdir(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
