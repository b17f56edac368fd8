"""A real job lifecycle without a server: the example's entrypoint runs in livekit-agents' ThreadJobExecutor
with ``fake_job=True`` (a mock Room), so the real JobContext, teardown sequence and shutdown callbacks run.

What a server would do is simulated in one place only: delivering the RPC. With a mock room there is no
transport, so the test takes the handler the agent registered on ``local_participant.register_rpc_method`` and
invokes it from a task in the job's loop with a real ``rtc.RpcInvocationData``, exactly as
``rtc.Room._on_rpc_method_invocation`` does; the reply is what LiveKit would send back. The transport itself
(the reply surviving the disconnect) is the e2e suite's job, on a real server.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from livekit import rtc
from livekit.agents import JobContext
from livekit.agents.ipc.job_thread_executor import ThreadJobExecutor
from livekit.agents.job import JobAcceptArguments, RunningJobInfo
from livekit.protocol import agent, models

from examples import agent as example
from shutdown_rpc.agent_side import parse_reason
from shutdown_rpc.protocol import Acknowledgement, AckStatus, build_request, dump_key_file, sign_request
from shutdown_rpc.protocol.wire import METHOD_NAME
from tests.agent_side.fakes import KEY, opts


class Delivery:
    """What the simulated transport saw, shared between the job thread and the test."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.replies: list[str] = []
        self.errors: list[BaseException] = []


def deliver_rpc(ctx: JobContext, payload: str, delivery: Delivery, copies: int = 1) -> list[asyncio.Task[None]]:
    """Invoke the registered shutdown handler ``copies`` times concurrently, as LiveKit would (one task each)."""
    lp = ctx.room.local_participant
    calls = [c for c in lp.register_rpc_method.call_args_list if c.args[0] == METHOD_NAME]  # type: ignore[attr-defined]
    handler = calls[-1].args[1]

    async def one(i: int) -> None:
        try:
            reply = await handler(
                rtc.RpcInvocationData(f"rpc-{i}", "backend-caller", payload, 10.0, method=METHOD_NAME)
            )
            with delivery.lock:
                delivery.replies.append(str(reply))
        except BaseException as exc:
            with delivery.lock:
                delivery.errors.append(exc)
            raise

    return [asyncio.get_running_loop().create_task(one(i)) for i in range(copies)]


async def run_job(entrypoint: Any) -> None:
    executor = ThreadJobExecutor(
        initialize_process_fnc=lambda proc: None,
        job_entrypoint_fnc=entrypoint,
        session_end_fnc=None,
        simulation_end_fnc=None,
        inference_executor=None,
        initialize_timeout=20,
        close_timeout=20,
        session_end_timeout=10,
        ping_interval=2.5,
        high_ping_threshold=5.0,
        http_proxy=None,
        loop=asyncio.get_running_loop(),
    )
    info = RunningJobInfo(
        accept_arguments=JobAcceptArguments(name="", identity="agent-AJ_lifecycle", metadata=""),
        job=agent.Job(id="AJ_lifecycle", room=models.Room(name="lifecycle-room", sid="RM_lifecycle")),
        url="",
        token="",
        worker_id="test-worker",
        fake_job=True,
    )
    await executor.start()
    await executor.initialize()
    await executor.launch_job(info)
    # a guard against hanging forever, not a timing assertion: the job ends on its own when it works
    await asyncio.wait_for(executor.join(), timeout=120)


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def events_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    key_file = tmp_path / "backend-1.json"
    key_file.write_text(dump_key_file(KEY))
    events = tmp_path / "events.jsonl"
    monkeypatch.setenv("SHUTDOWN_RPC_KEYS", str(key_file))
    monkeypatch.setenv("SHUTDOWN_RPC_EVENTS_FILE", str(events))
    monkeypatch.setenv("SHUTDOWN_RPC_GREETING", "hi")
    monkeypatch.setenv("SHUTDOWN_RPC_REPLY_FLUSH_DELAY_S", "0.05")
    return events


@pytest.mark.parametrize("delete_room", [False, True])
async def test_example_agent_job_ends_through_remote_shutdown(events_file: Path, delete_room: bool) -> None:
    delivery = Delivery()
    request = build_request(
        room="console",  # the mock room's name: a fake job's Room is livekit-agents' mock
        target="agent",  # the mock room's local identity
        reason="maintenance window",
        issuer="ops-backend",
        options=opts(drain=True, grace_ms=5_000, delete_room=delete_room),
    )

    async def entrypoint(ctx: JobContext) -> None:
        await example.entrypoint(ctx)
        deliver_rpc(ctx, sign_request(request, KEY), delivery, copies=5)

    await run_job(entrypoint)

    assert delivery.errors == []
    statuses = sorted(Acknowledgement.from_json(r).status.value for r in delivery.replies)
    assert statuses == sorted([AckStatus.ACCEPTED.value] + [AckStatus.DUPLICATE.value] * 4)
    events = read_events(events_file)
    names = [e["event"] for e in events]
    assert names.count("entrypoint_started") == 1
    assert names.count("remote_shutdown_accepted") == 1
    callbacks = [e for e in events if e["event"] == "shutdown_callback"]
    assert len(callbacks) == 1, events
    expected = f"remote shutdown by ops-backend [{request.request_id}]: maintenance window"
    assert callbacks[0]["reason"] == expected
    assert callbacks[0]["job_id"] == "AJ_lifecycle"
    parsed = parse_reason(callbacks[0]["reason"])
    assert parsed is not None and parsed.reason == "maintenance window"
    # teardown order: the session closed (drained) before the shutdown callbacks ran
    assert names.index("remote_shutdown_accepted") < names.index("session_closed") < names.index("shutdown_callback")


async def test_refused_request_does_not_end_the_job(events_file: Path) -> None:
    """A bad request is refused and the job keeps running until something else ends it."""
    delivery = Delivery()
    bad = build_request(room="another-room", target="agent", reason="x", issuer="ops-backend")

    async def entrypoint(ctx: JobContext) -> None:
        await example.entrypoint(ctx)
        await asyncio.gather(*deliver_rpc(ctx, sign_request(bad, KEY), delivery), return_exceptions=True)
        ctx.shutdown("test over")

    await run_job(entrypoint)

    assert delivery.replies == []
    assert len(delivery.errors) == 1 and isinstance(delivery.errors[0], rtc.RpcError)
    assert delivery.errors[0].code == 4130
    callbacks = [e for e in read_events(events_file) if e["event"] == "shutdown_callback"]
    assert [c["reason"] for c in callbacks] == ["test over"]
    assert callbacks[0]["remote"] is False


async def test_request_after_the_app_ended_the_job_is_already_shutting_down(events_file: Path) -> None:
    """With the real JobContext: the application's ctx.shutdown wins; a later valid request is told so (§8)."""
    delivery = Delivery()
    request = build_request(
        room="console", target="agent", reason="late", issuer="ops-backend", options=opts(delete_room=True)
    )

    async def entrypoint(ctx: JobContext) -> None:
        await example.entrypoint(ctx)
        ctx.shutdown("app done")
        # the entrypoint still runs (the teardown waits for it): a request arriving now must not be accepted
        await asyncio.gather(*deliver_rpc(ctx, sign_request(request, KEY), delivery), return_exceptions=True)

    await run_job(entrypoint)

    assert delivery.errors == []
    assert [Acknowledgement.from_json(r).status for r in delivery.replies] == [AckStatus.ALREADY_SHUTTING_DOWN]
    events = read_events(events_file)
    assert [e["event"] for e in events].count("remote_shutdown_accepted") == 0
    callbacks = [e for e in events if e["event"] == "shutdown_callback"]
    assert [c["reason"] for c in callbacks] == ["app done"]
