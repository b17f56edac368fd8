"""Fixtures for tests against a real livekit-server, real agent workers and real rtc participants.

One server per session (session-scoped, started on free loopback ports); everything else is per test, and rooms
are named uniquely per test (``room_name``). The whole pytest process moves into a private network namespace
first (see ``harness/netns.py``), so WebRTC traffic cannot leave loopback; set SHUTDOWN_RPC_E2E_NETNS=0 to
opt out. If the server binary cannot be found or built, or the server does not come up, ``livekit_server``
FAILS with the reason: e2e tests are never skipped.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
import pytest_asyncio
from livekit import api

from harness import egress, netns
from harness.agent_worker import AgentWorker
from harness.livekit_server import LiveKitServer, ServerStartError
from harness.participant import RoomParticipant, mint_token

# Must run before anything in this process creates an rtc.Room (the rtc SDK's threads keep the namespace they
# were started in) or starts livekit-server: i.e. at conftest import, during collection.
NETNS_ERROR: str | None = netns.isolate_process()

E2E_DIR = Path(__file__).resolve().parent
AGENTS_DIR = E2E_DIR / "agents"
RECORDING_AGENT = AGENTS_DIR / "recording_agent.py"

# -- egress guard: a test fails if anything it (or a session process) started tried to leave loopback -------------


_expected_egress_packets: list[int] = []  # what the egress_expected tests sent on purpose


def _egress_packets() -> egress.EgressReport | None:
    """The guard's counters; None only when the namespace was explicitly opted out of (SHUTDOWN_RPC_E2E_NETNS=0)."""
    if not netns.netns_wanted():
        return None
    if NETNS_ERROR is not None:
        pytest.fail(f"cannot set up the private network namespace for e2e tests: {NETNS_ERROR}", pytrace=False)
    return egress.egress_report()


@pytest.fixture(autouse=True)
def no_egress(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test when a packet addressed outside loopback was refused while it ran (harness/egress.py).

    Processes shared by the session (server, workers) are charged to the test during which they tried.
    ``@pytest.mark.egress_expected`` marks the guard's own test, which makes such an attempt on purpose.
    """
    before = _egress_packets()
    yield
    after = _egress_packets()
    if before is None or after is None:
        return
    if request.node.get_closest_marker("egress_expected"):
        _expected_egress_packets.append(after.packets - before.packets)
    elif after.packets != before.packets:
        pytest.fail(
            f"a process started by the tests tried to reach a non-loopback address: "
            f"{after.packets - before.packets} new; all so far: {after.describe()}",
            pytrace=False,
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The same check over the whole session (attempts between tests and in session teardown count too):
    the run fails (exit status 1) if the guard refused more than the egress_expected tests sent."""
    if NETNS_ERROR is not None or not netns.netns_wanted():
        return  # the e2e tests fail on their own then
    report = egress.egress_report()
    if report.packets > sum(_expected_egress_packets):
        print(f"\nFAILED egress guard: processes started by the tests tried to leave loopback: {report.describe()}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# a secret of >= 32 bytes keeps PyJWT quiet (livekit-server's dev default "secret" is 6 bytes)
E2E_API_KEY = "e2ekey"
E2E_API_SECRET = "e2e-secret-0123456789-abcdefghijklmnop"


@pytest.fixture(scope="session")
def livekit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveKitServer]:
    """A running livekit-server (dev mode, loopback, free ports) shared by the whole session."""
    if NETNS_ERROR is not None:
        pytest.fail(f"cannot set up the private network namespace for e2e tests: {NETNS_ERROR}", pytrace=False)
    server = LiveKitServer(
        api_key=E2E_API_KEY,
        api_secret=E2E_API_SECRET,
        log_path=tmp_path_factory.mktemp("livekit-server") / "server.log",
    )
    try:
        server.start()
    except ServerStartError as exc:
        pytest.fail(f"livekit-server unavailable: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture
async def lkapi(livekit_server: LiveKitServer) -> AsyncIterator[api.LiveKitAPI]:
    """A LiveKitAPI (RoomService, AgentDispatchService, ...) for the session's server."""
    client = api.LiveKitAPI(livekit_server.url, livekit_server.api_key, livekit_server.api_secret)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def room_name(request: pytest.FixtureRequest) -> str:
    """A room name unique to this test (test name + random suffix)."""
    base = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-")[:40]
    return f"{base}-{uuid.uuid4().hex[:8]}"


class WorkerFactory(Protocol):
    def __call__(
        self,
        entrypoint: str | Path,
        *,
        agent_name: str | None = None,
        env: dict[str, str] | None = None,
        mode: str = "dev",
        force_agent_name: bool = False,
    ) -> AgentWorker: ...


@pytest.fixture(scope="session")
def agent_worker_factory(
    livekit_server: LiveKitServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerFactory]:
    """Start an agent worker (subprocess, explicit dispatch) for an agent file or module; stopped at session end.

    ``agent_name`` defaults to a unique name, so a worker only receives the dispatches of whoever holds it.
    The returned worker is registered with the server; use ``worker.dispatch(lkapi, room)`` and
    ``worker.record`` (HARNESS_RECORD_FILE events).
    """
    workers: list[AgentWorker] = []

    def start(
        entrypoint: str | Path,
        *,
        agent_name: str | None = None,
        env: dict[str, str] | None = None,
        mode: str = "dev",
        force_agent_name: bool = False,
    ) -> AgentWorker:
        name = agent_name or f"{Path(str(entrypoint)).stem}-{uuid.uuid4().hex[:6]}"
        workdir = tmp_path_factory.mktemp(f"worker-{name}")
        assert mode in ("dev", "start")
        worker = AgentWorker(
            entrypoint,
            server=livekit_server,
            agent_name=name,
            env=env,
            mode="dev" if mode == "dev" else "start",
            force_agent_name=force_agent_name,
            record_file=workdir / "record.jsonl",
            log_path=workdir / "worker.log",
        )
        workers.append(worker)
        worker.start()
        return worker

    try:
        yield start
    finally:
        for worker in reversed(workers):
            worker.stop()


@pytest.fixture(scope="session")
def recording_worker(agent_worker_factory: WorkerFactory) -> AgentWorker:
    """One worker running tests/e2e/agents/recording_agent.py, shared by the session (rooms differ per test)."""
    return agent_worker_factory(RECORDING_AGENT)


ParticipantFactory = Callable[..., Awaitable[RoomParticipant]]


@pytest_asyncio.fixture
async def participant_factory(livekit_server: LiveKitServer) -> AsyncIterator[ParticipantFactory]:
    """``await make(room, identity="user", **token_options)`` -> a connected RoomParticipant.

    Token options are those of ``harness.participant.mint_token`` (attributes, hidden, room_config, ...).
    Every participant still connected at the end of the test is disconnected.
    """
    made: list[RoomParticipant] = []

    async def make(
        room: str, identity: str | None = None, *, timeout: float = 20.0, **token_options: Any
    ) -> RoomParticipant:
        ident = identity or f"user-{uuid.uuid4().hex[:6]}"
        token = mint_token(
            livekit_server.api_key, livekit_server.api_secret, room=room, identity=ident, **token_options
        )
        participant = RoomParticipant(livekit_server.url, token, identity=ident, room_name=room)
        made.append(participant)
        await participant.connect(timeout)
        return participant

    try:
        yield make
    finally:
        for participant in made:
            await participant.disconnect()
