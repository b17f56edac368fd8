"""Fixtures and helpers for the remote-shutdown e2e tests: the example agent (examples/agent.py) as one worker
shared by the session, throwaway keys it trusts, raw-payload channels for the server API and for a room
participant, and waits on what the agent records.

The example agent writes its events (``entrypoint_started``, ``remote_shutdown_accepted``, ``caller_receipt``,
``session_closed``, ``shutdown_callback``) to ``$SHUTDOWN_RPC_EVENTS_FILE``; :class:`ExampleAgent` reads them
with the harness's :class:`~harness.agent_worker.RecordFile`. A job's process id comes from the worker log
(livekit-agents tags every job-process log line with ``pid`` and ``job_id``), so "the job ended" means that
process has exited.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from livekit import api

from harness.agent_worker import AgentWorker, Event, RecordFile, wait_process_gone
from harness.participant import RoomParticipant
from shutdown_rpc.client_side import RetryPolicy, ShutdownResult
from shutdown_rpc.client_side._delivery import deliver
from shutdown_rpc.client_side._participant import RoomChannel
from shutdown_rpc.client_side._server_api import ServerChannel
from shutdown_rpc.protocol import Ed25519SigningKey, HmacSha256Key, dump_key_file

REPO_ROOT = Path(__file__).resolve().parents[2]
# examples/agent.py with a worker that always reports load 0 (see harness/steady_example_agent.py)
EXAMPLE_AGENT = "harness.steady_example_agent"
TIMEOUT = 60.0  # upper bound of every wait; nothing is timed
HMAC_KEY_ID = "e2e-hmac-1"
ED25519_KEY_ID = "e2e-ed25519-1"


@dataclass(frozen=True)
class E2EKeys:
    hmac: HmacSha256Key
    ed25519: Ed25519SigningKey

    def agent_env_value(self) -> str:
        """SHUTDOWN_RPC_KEYS for the agent: the HMAC secret and only the PUBLIC half of the Ed25519 key."""
        return json.dumps(
            [json.loads(dump_key_file(self.hmac)), json.loads(dump_key_file(self.ed25519.verifying_key()))]
        )


@dataclass
class ExampleAgent:
    worker: AgentWorker
    events: RecordFile

    @property
    def agent_name(self) -> str:
        return self.worker.agent_name

    def job_pid(self, job_id: str) -> int:
        """The pid of job ``job_id``'s process, read from the worker log (the entrypoint has logged by then)."""
        pattern = re.compile(r'"pid": (\d+)[^\n]*"job_id": "' + re.escape(job_id) + '"')
        found = pattern.search(re.sub(r"\x1b\[[0-9;]*m", "", self.worker.log_tail(max_chars=1 << 24)))
        if found is None:
            raise AssertionError(f"no log line of job {job_id} with its pid in {self.worker.log_path}")
        return int(found.group(1))


@pytest.fixture(scope="session", name="e2e_keys")
def e2e_keys_fixture() -> E2EKeys:
    return E2EKeys(HmacSha256Key(HMAC_KEY_ID, os.urandom(32)), Ed25519SigningKey.generate(ED25519_KEY_ID))


def start_example_agent(
    agent_worker_factory: object, e2e_keys: E2EKeys, tmp_path_factory: pytest.TempPathFactory, **env: str
) -> ExampleAgent:
    """A worker of examples/agent.py trusting :func:`e2e_keys`, with ``env`` added (e.g. its receipt wait)."""
    events_path = tmp_path_factory.mktemp("example-agent") / "events.jsonl"
    env = {
        "SHUTDOWN_RPC_KEYS": e2e_keys.agent_env_value(),
        "SHUTDOWN_RPC_EVENTS_FILE": str(events_path),
        "SHUTDOWN_RPC_GREETING": "Hello. This agent ends when an authorized backend asks it to, and only then.",
        **env,
    }
    worker = agent_worker_factory(EXAMPLE_AGENT, agent_name=None, env=env)  # type: ignore[operator]
    return ExampleAgent(worker, RecordFile(events_path))


@pytest.fixture(scope="session", name="example_agent")
def example_agent_fixture(
    agent_worker_factory: object, e2e_keys: E2EKeys, tmp_path_factory: pytest.TempPathFactory
) -> ExampleAgent:
    """One worker of examples/agent.py for the session (one job per room), trusting :func:`e2e_keys`."""
    return start_example_agent(agent_worker_factory, e2e_keys, tmp_path_factory)


@dataclass
class Job:
    """One dispatched job of the example agent, next to a Python participant ``user``."""

    room: str
    user: RoomParticipant
    started: Event
    agent_identity: str
    job_id: str
    pid: int


async def start_job(agent: ExampleAgent, lkapi: api.LiveKitAPI, participant_factory: object, room: str) -> Job:
    """'user' joins ``room``, the example agent is dispatched into it, and the user sees the agent."""
    user: RoomParticipant = await participant_factory(room, "user")  # type: ignore[operator]
    await agent.worker.dispatch(lkapi, room)
    started = await agent.events.wait_for(room=room, event="entrypoint_started", timeout=TIMEOUT)
    remote = await user.wait_for_agent(agent_name=agent.agent_name, timeout=TIMEOUT)
    assert remote.identity == started["identity"]
    await user.wait_until(lambda: bool(remote.attributes.get("shutdown_rpc.method")), timeout=TIMEOUT, what="advert")
    return Job(room, user, started, remote.identity, started["job_id"], agent.job_pid(started["job_id"]))


async def job_ended_once(agent: ExampleAgent, job: Job) -> Event:
    """The job's shutdown_callback event, after its process exited; asserts it ran exactly once."""
    callback = await agent.events.wait_for(room=job.room, event="shutdown_callback", timeout=TIMEOUT)
    assert callback["job_id"] == job.job_id
    await wait_process_gone(job.pid, timeout=TIMEOUT)
    assert len(agent.events.events(room=job.room, event="shutdown_callback")) == 1
    return callback


def server_api_channel(lkapi: api.LiveKitAPI, room: str, agent: str) -> ServerChannel:
    """The backend path's Channel (RoomService.PerformRpc) for relaying a given payload."""
    return ServerChannel(lkapi, room, agent)


def wall_ms() -> float:
    """This machine's wall clock in ms: the agent's events use the same clock, so ORDER can be compared."""
    return time.time() * 1000


async def send_through_server_and_room(
    lkapi: api.LiveKitAPI, job: Job, payload: str, request_id: str
) -> list[ShutdownResult]:
    """The same payload at once through RoomService.PerformRpc and through ``job.user`` in the room (one try each)."""

    async def send(channel: ServerChannel | RoomChannel) -> ShutdownResult:
        return await deliver(
            channel,
            payload,
            room=job.room,
            agent=job.agent_identity,
            request_id=request_id,
            timeout_s=TIMEOUT,
            policy=RetryPolicy(max_attempts=1, attempt_timeout_s=10.0),
        )

    return list(
        await asyncio.gather(
            send(server_api_channel(lkapi, job.room, job.agent_identity)),
            send(RoomChannel(job.user.room, job.agent_identity)),
        )
    )
