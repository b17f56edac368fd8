"""Faults on a real livekit-server with the real example agent (tests/e2e/agents/fault_agent.py adds a hold
and a crash hook to it). In every case the caller gets a typed outcome (a ShutdownResult or one ShutdownFailed
subclass) within its deadline, nothing hangs, the job process is gone at the end, and the job's shutdown
callbacks ran at most once. What the caller sees in each case is listed in docs/security.md ("Faults").
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import pytest
import pytest_asyncio
from livekit import api

from harness.agent_worker import AgentWorker, Event, RecordFile, wait_process_gone
from harness.livekit_server import LiveKitServer
from harness.participant import RoomParticipant, connect_participant
from harness.room_state import identities
from shutdown_rpc.client_side import (
    AgentLeftBeforeReply,
    RoomShutdownCaller,
    ShutdownClient,
    ShutdownCommand,
    ShutdownFailed,
    ShutdownResult,
    Timeout,
)
from shutdown_rpc.protocol import AckStatus
from tests.e2e.conftest import AGENTS_DIR, E2E_API_KEY, E2E_API_SECRET, WorkerFactory
from tests.e2e.remote_fixtures import (  # noqa: F401 - fixtures
    TIMEOUT,
    E2EKeys,
    ExampleAgent,
    Job,
    e2e_keys_fixture,
    start_job,
)

pytestmark = pytest.mark.e2e

FAULT_AGENT = AGENTS_DIR / "fault_agent.py"
DEADLINE_S = 20.0  # the caller's deadline
ISSUER = "fault-tests"
Outcome: TypeAlias = "ShutdownResult | ShutdownFailed"


@dataclass
class FaultAgent(ExampleAgent):
    release_dir: Path

    def release(self, request_id: str) -> None:
        """Let a held request through (the agent's veto polls for this file)."""
        (self.release_dir / request_id).touch()


def fault_env(keys: E2EKeys, workdir: Path) -> dict[str, str]:
    (workdir / "release").mkdir(exist_ok=True)
    return {
        "SHUTDOWN_RPC_KEYS": keys.agent_env_value(),
        "SHUTDOWN_RPC_EVENTS_FILE": str(workdir / "events.jsonl"),
        "SHUTDOWN_RPC_GREETING": "This agent keeps talking for a while, so that a drain has speech to wait for. " * 4,
        "FAULT_RELEASE_DIR": str(workdir / "release"),
    }


@pytest.fixture(scope="module")
def fault_agent(
    agent_worker_factory: WorkerFactory, e2e_keys: E2EKeys, tmp_path_factory: pytest.TempPathFactory
) -> FaultAgent:
    workdir = tmp_path_factory.mktemp("fault-agent")
    worker = agent_worker_factory(FAULT_AGENT, env=fault_env(e2e_keys, workdir))
    return FaultAgent(worker, RecordFile(workdir / "events.jsonl"), workdir / "release")


async def typed_outcome(call: Awaitable[ShutdownResult]) -> tuple[Outcome, float]:
    """The call's outcome and how long it took; fails the test if it hangs past the deadline or raises
    anything but a ShutdownFailed."""
    t = time.monotonic()
    try:
        result: Outcome = await asyncio.wait_for(call, DEADLINE_S + 10)
    except ShutdownFailed as failed:
        result = failed
    except asyncio.TimeoutError:
        pytest.fail(f"the call hung past its deadline of {DEADLINE_S} s")
    elapsed = time.monotonic() - t
    assert elapsed <= DEADLINE_S + 5, f"answered after {elapsed:.1f} s, deadline {DEADLINE_S} s"
    return result, elapsed


async def ended_at_most_once(agent: ExampleAgent, job: Job) -> list[Event]:
    """Wait for the job process to exit; its shutdown_callback events (0 or 1 of them)."""
    await wait_process_gone(job.pid, timeout=TIMEOUT)
    callbacks = agent.events.events(room=job.room, event="shutdown_callback")
    assert len(callbacks) <= 1, callbacks
    return callbacks


def client(keys: E2EKeys, lkapi: api.LiveKitAPI) -> ShutdownClient:
    return ShutdownClient(keys.hmac, issuer=ISSUER, lkapi=lkapi)


def describe(outcome: Outcome) -> str:
    if isinstance(outcome, ShutdownResult):
        return f"ShutdownResult({outcome.status.value})"
    return type(outcome).__name__


async def test_agent_killed_right_after_it_accepted(
    fault_agent: FaultAgent, e2e_keys: E2EKeys, lkapi: api.LiveKitAPI, participant_factory: Any, room_name: str
) -> None:
    job = await start_job(fault_agent, lkapi, participant_factory, room_name)
    call = asyncio.create_task(
        typed_outcome(client(e2e_keys, lkapi).shutdown(room_name, agent=job.agent_identity, timeout=DEADLINE_S))
    )
    await fault_agent.events.wait_for(room=room_name, event="remote_shutdown_accepted", timeout=TIMEOUT)
    os.kill(job.pid, signal.SIGKILL)
    outcome, _ = await call
    print("killed after accept ->", describe(outcome))
    # The ack may have left before the kill. If not, the server still holds the dead agent for its reconnect
    # window, so the caller's attempts go unanswered: Timeout (or AgentLeftBeforeReply once the server drops it).
    assert (isinstance(outcome, ShutdownResult) and outcome.status is AckStatus.ACCEPTED) or isinstance(
        outcome, (AgentLeftBeforeReply, Timeout)
    ), outcome
    assert await ended_at_most_once(fault_agent, job) == []  # killed: no callback ran, none twice
    await job.user.wait_participant_left(job.agent_identity, timeout=TIMEOUT)
    assert fault_agent.worker.is_running()


async def test_agent_killed_before_it_answered(
    fault_agent: FaultAgent, e2e_keys: E2EKeys, lkapi: api.LiveKitAPI, participant_factory: Any, room_name: str
) -> None:
    job = await start_job(fault_agent, lkapi, participant_factory, room_name)
    call = asyncio.create_task(
        typed_outcome(
            client(e2e_keys, lkapi).shutdown(
                room_name, ShutdownCommand(reason="hold"), agent=job.agent_identity, timeout=DEADLINE_S
            )
        )
    )
    await fault_agent.events.wait_for(room=room_name, event="held", timeout=TIMEOUT)
    os.kill(job.pid, signal.SIGKILL)
    outcome, _ = await call
    print("killed before answering ->", describe(outcome))
    assert isinstance(outcome, ShutdownFailed), outcome
    assert await ended_at_most_once(fault_agent, job) == []
    assert fault_agent.events.events(room=room_name, event="remote_shutdown_accepted") == []
    assert fault_agent.worker.is_running()


async def test_participant_caller_dropped_mid_call(
    fault_agent: FaultAgent, e2e_keys: E2EKeys, lkapi: api.LiveKitAPI, participant_factory: Any, room_name: str
) -> None:
    job = await start_job(fault_agent, lkapi, participant_factory, room_name)
    caller: RoomParticipant = await participant_factory(room_name, "caller")
    shutdown = RoomShutdownCaller(caller.room, e2e_keys.hmac, issuer=ISSUER)
    call = asyncio.create_task(
        typed_outcome(
            shutdown.shutdown(
                ShutdownCommand(reason="hold: caller drops"), agent=job.agent_identity, timeout=DEADLINE_S
            )
        )
    )
    held = await fault_agent.events.wait_for(room=room_name, event="held", timeout=TIMEOUT)
    await caller.disconnect()
    outcome, _ = await call
    print("participant caller dropped ->", describe(outcome))
    assert isinstance(outcome, ShutdownFailed), outcome
    # The rtc SDK cancels the handler of a caller that left: the request is never decided, the job goes on.
    fault_agent.release(held["request_id"])
    await ends_after_a_fresh_request(fault_agent, e2e_keys, lkapi, job, abandoned=held["request_id"])


async def ends_after_a_fresh_request(
    agent: ExampleAgent, keys: E2EKeys, lkapi: api.LiveKitAPI, job: Job, *, abandoned: str
) -> None:
    """The abandoned request was never accepted and the job still runs: a new request ends it, exactly once."""
    assert all(
        e["request_id"] != abandoned for e in agent.events.events(room=job.room, event="remote_shutdown_accepted")
    )
    result = await client(keys, lkapi).shutdown(job.room, agent=job.agent_identity, timeout=DEADLINE_S)
    assert result.status is AckStatus.ACCEPTED
    callbacks = await ended_at_most_once(agent, job)
    assert len(callbacks) == 1 and callbacks[0]["request_id"] == result.request_id


async def test_server_api_caller_dropped_mid_call(
    fault_agent: FaultAgent,
    e2e_keys: E2EKeys,
    livekit_server: LiveKitServer,
    lkapi: api.LiveKitAPI,
    participant_factory: Any,
    room_name: str,
) -> None:
    job = await start_job(fault_agent, lkapi, participant_factory, room_name)
    dropping = api.LiveKitAPI(livekit_server.url, livekit_server.api_key, livekit_server.api_secret)
    call = asyncio.create_task(
        client(e2e_keys, dropping).shutdown(
            room_name, ShutdownCommand(reason="hold: caller drops"), agent=job.agent_identity, timeout=DEADLINE_S
        )
    )
    held = await fault_agent.events.wait_for(room=room_name, event="held", timeout=TIMEOUT)
    call.cancel()  # the backend gives up: its HTTP connection to the server closes mid-call
    await dropping.aclose()
    with pytest.raises(asyncio.CancelledError):
        await call
    fault_agent.release(held["request_id"])
    callbacks = await ended_at_most_once(fault_agent, job)
    assert len(callbacks) == 1 and callbacks[0]["request_id"] == held["request_id"]
    assert job.user.room.isconnected()


async def test_job_crashing_during_drain(
    fault_agent: FaultAgent, e2e_keys: E2EKeys, lkapi: api.LiveKitAPI, participant_factory: Any, room_name: str
) -> None:
    job = await start_job(fault_agent, lkapi, participant_factory, room_name)
    outcome, _ = await typed_outcome(
        client(e2e_keys, lkapi).shutdown(
            room_name,
            ShutdownCommand(reason="crash-during-drain", drain=True, grace_ms=10_000),
            agent=job.agent_identity,
            timeout=DEADLINE_S,
        )
    )
    print("crash during drain ->", describe(outcome))
    assert (isinstance(outcome, ShutdownResult) and outcome.status is AckStatus.ACCEPTED) or isinstance(
        outcome, AgentLeftBeforeReply
    ), outcome
    await fault_agent.events.wait_for(room=room_name, event="crashing", timeout=TIMEOUT)
    assert await ended_at_most_once(fault_agent, job) == []  # the process died mid-drain: no callback
    await job.user.wait_participant_left(job.agent_identity, timeout=TIMEOUT)
    assert job.user.room.isconnected()
    assert fault_agent.worker.is_running()


async def test_delete_room_racing_an_accepted_request(
    fault_agent: FaultAgent, e2e_keys: E2EKeys, lkapi: api.LiveKitAPI, participant_factory: Any, room_name: str
) -> None:
    job = await start_job(fault_agent, lkapi, participant_factory, room_name)
    call = asyncio.create_task(
        typed_outcome(client(e2e_keys, lkapi).shutdown(room_name, agent=job.agent_identity, timeout=DEADLINE_S))
    )
    await fault_agent.events.wait_for(room=room_name, event="remote_shutdown_accepted", timeout=TIMEOUT)
    await lkapi.room.delete_room(api.DeleteRoomRequest(room=room_name))  # inside the reply-flush delay
    outcome, _ = await call
    print("DeleteRoom racing an accepted request ->", describe(outcome))
    assert isinstance(outcome, (ShutdownResult, ShutdownFailed))
    callbacks = await ended_at_most_once(fault_agent, job)
    assert len(callbacks) == 1, "the job ended, and its callbacks ran exactly once"
    print("  callback reason:", callbacks[0]["reason"])
    # Not the user's own disconnect event: when DeleteRoom races its session, the user's rtc SDK may resume and
    # rejoin (seen in CI: "resuming connection failed ... restarting connection"), recreating the room. What must
    # hold is that the agent is gone from the server whatever the user's SDK does.
    assert job.agent_identity not in await identities(lkapi, room_name)


@pytest_asyncio.fixture
async def own_server(tmp_path: Path) -> AsyncIterator[LiveKitServer]:
    """A server of this test's own (it gets restarted), with the fault agent's worker."""
    server = LiveKitServer(api_key=E2E_API_KEY, api_secret=E2E_API_SECRET, log_path=tmp_path / "server.log")
    async with server:
        yield server


async def test_server_restarted_while_a_call_is_pending(
    own_server: LiveKitServer, e2e_keys: E2EKeys, tmp_path: Path
) -> None:
    room = f"restart-{uuid.uuid4().hex[:8]}"
    worker = AgentWorker(
        FAULT_AGENT,
        server=own_server,
        agent_name="fault-restart",
        env=fault_env(e2e_keys, tmp_path),
        log_path=tmp_path / "worker.log",
        record_file=tmp_path / "record.jsonl",
    )
    agent = FaultAgent(worker, RecordFile(tmp_path / "events.jsonl"), tmp_path / "release")
    async with worker, api.LiveKitAPI(own_server.url, E2E_API_KEY, E2E_API_SECRET) as lkapi:
        user = await connect_participant(own_server.url, E2E_API_KEY, E2E_API_SECRET, room=room, identity="user")
        try:

            async def make(room: str, identity: str) -> RoomParticipant:
                return user

            job = await start_job(agent, lkapi, make, room)
            call = asyncio.create_task(
                typed_outcome(
                    client(e2e_keys, lkapi).shutdown(
                        room, ShutdownCommand(reason="hold"), agent=job.agent_identity, timeout=DEADLINE_S
                    )
                )
            )
            held = await agent.events.wait_for(room=room, event="held", timeout=TIMEOUT)
            await asyncio.to_thread(own_server.restart)
            outcome, _ = await call
            print("server restarted mid-call ->", describe(outcome), getattr(outcome, "code", ""))
            assert isinstance(outcome, ShutdownFailed), outcome
            # The job's rtc connection comes back to the restarted server (same URL) and the job goes on;
            # the held request was never accepted. A new request ends the job, exactly once.
            agent.release(held["request_id"])
            await ends_after_a_fresh_request(agent, e2e_keys, lkapi, job, abandoned=held["request_id"])
            assert worker.is_running()
        finally:
            await user.disconnect()
