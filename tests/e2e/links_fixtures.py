"""Fixtures for tests behind impaired links (harness/links.py): a server that advertises the relay, and per test
the links of one profile, a worker of harness/link_agent.py in the agent's namespace, and a user on its own link.

One ImpairedLinks at a time per process (it owns the veth pair and the nftables table): each test starts its own
and stops it at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from livekit import api

from harness.agent_worker import RecordFile
from harness.audio_watch import AudioWatch
from harness.links import PROFILES, ImpairedLinks, LinkedAgentWorker, server_rtc_options
from harness.livekit_server import LiveKitServer, ServerStartError
from harness.participant import RoomParticipant, connect_participant
from tests.e2e.conftest import E2E_API_KEY, E2E_API_SECRET, NETNS_ERROR
from tests.e2e.remote_fixtures import TIMEOUT, E2EKeys, ExampleAgent, Job

AGENT_MODULE = "harness.link_agent"
LONG_UTTERANCE = "x" * 500  # 20 s of tone: the agent is mid-utterance when a request arrives


@pytest.fixture(scope="module", name="relay_server")
def relay_server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveKitServer]:
    """A livekit-server that advertises the relay's address and has no ICE over TCP."""
    if NETNS_ERROR is not None:
        pytest.fail(f"cannot set up the private network namespace for e2e tests: {NETNS_ERROR}", pytrace=False)
    server = LiveKitServer(
        api_key=E2E_API_KEY,
        api_secret=E2E_API_SECRET,
        log_path=tmp_path_factory.mktemp("relay-server") / "server.log",
        rtc_overrides=server_rtc_options(),
    )
    try:
        server.start()
    except ServerStartError as exc:
        pytest.fail(f"livekit-server unavailable: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture(name="lkapi_relay")
async def lkapi_relay_fixture(relay_server: LiveKitServer) -> AsyncIterator[api.LiveKitAPI]:
    """A LiveKitAPI for :func:`relay_server` (the backend reaches the server directly, not through a link)."""
    client = api.LiveKitAPI(relay_server.url, relay_server.api_key, relay_server.api_secret)
    try:
        yield client
    finally:
        await client.aclose()


@dataclass
class LinkedSetup:
    """One profile's links, a worker behind them, and what its jobs record."""

    server: LiveKitServer
    links: ImpairedLinks
    agent: ExampleAgent

    async def start_job(self, lkapi: api.LiveKitAPI, room: str) -> tuple[Job, AudioWatch]:
        """'user' joins through its link, the agent is dispatched, and the user hears the agent speaking."""
        user = await connect_participant(
            self.links.user_url, self.server.api_key, self.server.api_secret, room=room, identity="user", timeout=60
        )
        await self.agent.worker.dispatch(lkapi, room)
        started = await self.agent.events.wait_for(room=room, event="entrypoint_started", timeout=TIMEOUT)
        remote = await user.wait_for_agent(agent_name=self.agent.agent_name, timeout=TIMEOUT)
        watch = AudioWatch(user.room, remote.identity).attach()
        await user.wait_until(lambda: bool(remote.attributes.get("shutdown_rpc.method")), timeout=TIMEOUT)
        await watch.wait_loud(timeout=TIMEOUT)
        job = Job(room, user, started, remote.identity, started["job_id"], self.agent.job_pid(started["job_id"]))
        return job, watch


@asynccontextmanager
async def linked_setup(
    server: LiveKitServer, profile: str, keys: E2EKeys, workdir: Path, **agent_env: str
) -> AsyncIterator[LinkedSetup]:
    """Links of ``profile``, and a worker of harness/link_agent.py behind them trusting ``keys``."""
    events = workdir / "events.jsonl"
    env = {
        "SHUTDOWN_RPC_KEYS": keys.agent_env_value(),
        "SHUTDOWN_RPC_EVENTS_FILE": str(events),
        "SHUTDOWN_RPC_GREETING": LONG_UTTERANCE,
        **agent_env,
    }
    async with ImpairedLinks(server, PROFILES[profile], log_dir=workdir) as links:
        worker = LinkedAgentWorker(
            AGENT_MODULE,
            links=links,
            agent_name=f"links-{profile}-{uuid.uuid4().hex[:6]}",
            env=env,
            log_path=workdir / "worker.log",
        )
        async with worker:
            yield LinkedSetup(server, links, ExampleAgent(worker, RecordFile(events)))


async def leave(user: RoomParticipant, watch: AudioWatch) -> None:
    await watch.close()
    await user.disconnect()
