"""Fixtures for the cluster tests: a real 2-node livekit-server cluster on a real redis-server, one worker of the
light agent (harness/light_agent.py) registered with node 0, and jobs placed on a chosen node.

The nodes post webhooks to a loopback port picked before they start (``CLUSTER_WEBHOOK``); a test that wants
them opens a :class:`~shutdown_rpc.client_side.fleet.WebhookListener` on that port. The cluster FAILS the
test with the reason when redis-server or livekit-server is missing or does not start: never a skip.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from livekit import api

from harness.agent_worker import AgentWorker, Event, wait_for_agent_participant, wait_process_gone
from harness.cluster import ClusterStartError, LiveKitCluster
from harness.livekit_server import free_port
from harness.participant import RoomParticipant, connect_participant
from shutdown_rpc.client_side import RetryPolicy, ShutdownClient
from shutdown_rpc.protocol import HmacSha256Key, dump_key_file
from tests.e2e.conftest import E2E_API_KEY, E2E_API_SECRET, NETNS_ERROR

TIMEOUT = 60.0  # upper bound of every wait; nothing is timed
LIGHT_AGENT = "harness.light_agent"
ISSUER = "ops-backend"
WEBHOOK_PATH = "/livekit/webhook"


@dataclass(frozen=True)
class ClusterEnv:
    cluster: LiveKitCluster
    worker: AgentWorker
    key: HmacSha256Key
    webhook_port: int
    worker_node: int = 0


@dataclass
class ClusterJob:
    """One light-agent job in ``room``, hosted by node ``host``; ``user`` (if any) joined through ``user_node``."""

    room: str
    host: int
    agent_identity: str
    job_id: str
    pid: int
    user: RoomParticipant | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="session", name="cluster_env")
def cluster_env_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterEnv]:
    """Redis + 2 nodes (webhooks to a loopback port), and one light-agent worker registered with node 0."""
    if NETNS_ERROR is not None:
        pytest.fail(f"cannot set up the private network namespace for cluster tests: {NETNS_ERROR}", pytrace=False)
    logs = tmp_path_factory.mktemp("cluster")
    webhook_port = free_port()
    cluster = LiveKitCluster(
        nodes=2,
        api_key=E2E_API_KEY,
        api_secret=E2E_API_SECRET,
        webhook_urls=[f"http://127.0.0.1:{webhook_port}{WEBHOOK_PATH}"],
        log_dir=logs,
    )
    try:
        cluster.start()
    except ClusterStartError as exc:
        pytest.fail(f"LiveKit cluster unavailable: {exc}", pytrace=False)
    key = HmacSha256Key("cluster-hmac-1", os.urandom(32))
    worker = AgentWorker(
        LIGHT_AGENT,
        server=cluster.nodes[0],
        agent_name=f"light-{os.getpid()}",
        env={"SHUTDOWN_RPC_KEYS": json.dumps([json.loads(dump_key_file(key))])},
        record_file=logs / "record.jsonl",
        log_path=logs / "worker.log",
    )
    try:
        worker.start()
        yield ClusterEnv(cluster, worker, key, webhook_port)
    finally:
        worker.stop()
        cluster.stop()


@pytest_asyncio.fixture(name="node_apis")
async def node_apis_fixture(cluster_env: ClusterEnv) -> AsyncIterator[list[api.LiveKitAPI]]:
    """One LiveKitAPI per node (index = node index)."""
    clients = [cluster_env.cluster.api_for(i) for i in range(len(cluster_env.cluster.nodes))]
    try:
        yield clients
    finally:
        for client in clients:
            await client.aclose()


def client_on(env: ClusterEnv, lkapi: api.LiveKitAPI, *, retry: RetryPolicy | None = None) -> ShutdownClient:
    """A ShutdownClient signing with the cluster key, talking to the node behind ``lkapi``."""
    return ShutdownClient(env.key, issuer=ISSUER, lkapi=lkapi, retry=retry)


async def start_cluster_job(
    env: ClusterEnv,
    apis: list[api.LiveKitAPI],
    room: str,
    *,
    host: int,
    user_node: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> ClusterJob:
    """Create ``room`` on node ``host``, dispatch the light agent (its worker is on node 0) and wait for it;
    with ``user_node``, a participant "user" joins through that node first."""
    cluster = env.cluster
    await cluster.create_room_on(apis[host], room, host, empty_timeout=300, departure_timeout=300)
    assert cluster.node_hosting(room) == host
    user = None
    if user_node is not None:
        node = cluster.nodes[user_node]
        user = await connect_participant(
            node.url, cluster.api_key, cluster.api_secret, room=room, identity="user", timeout=TIMEOUT
        )
    await apis[host].agent_dispatch.create_dispatch(
        api.CreateAgentDispatchRequest(agent_name=env.worker.agent_name, room=room, metadata=json.dumps(metadata or {}))
    )
    started = await env.worker.record.wait_for(room=room, event="entrypoint_started", timeout=TIMEOUT)
    # wait until the server lists the agent with its advertisement (discovery reads it)
    info = await wait_for_agent_participant(apis[host], room, timeout=TIMEOUT)
    assert info.identity == started["identity"]
    return ClusterJob(room, host, started["identity"], started["job_id"], int(started["pid"]), user)


async def job_ended_once(env: ClusterEnv, job: ClusterJob) -> Event:
    """The job's shutdown_callback event, after its process exited; asserts it ran exactly once."""
    callback = await env.worker.record.wait_for(room=job.room, event="shutdown_callback", timeout=TIMEOUT)
    assert callback["job_id"] == job.job_id
    await wait_process_gone(job.pid, timeout=TIMEOUT)
    assert len(env.worker.record.events(room=job.room, event="shutdown_callback")) == 1
    return callback


def accepted_ids(env: ClusterEnv, room: str) -> list[str]:
    """Request ids the agent of ``room`` accepted."""
    return [e["request_id"] for e in env.worker.record.events(room=room, event="remote_shutdown_accepted")]
