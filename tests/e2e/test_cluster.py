"""Remote shutdown on a real 2-node LiveKit cluster (shared redis-server): the room lives on one node, the agent's
worker is registered with node 0, callers reach the agent through the OTHER node, so every request crosses the
cluster's internal bus. Nothing is timed; every wait is on an event."""

from __future__ import annotations

import asyncio

import pytest
from livekit import api

from harness.room_state import identities, room_exists
from shutdown_rpc.agent_side._reason import format_reason
from shutdown_rpc.client_side import RetryPolicy, ShutdownCommand, mint_request
from shutdown_rpc.client_side._delivery import deliver
from shutdown_rpc.client_side._minting import make_payload
from shutdown_rpc.client_side._server_api import ServerChannel
from shutdown_rpc.protocol import Acknowledgement, AckStatus
from tests.e2e.cluster_fixtures import (
    ISSUER,
    TIMEOUT,
    ClusterEnv,
    accepted_ids,
    client_on,
    cluster_env_fixture,  # noqa: F401 - fixture
    job_ended_once,
    node_apis_fixture,  # noqa: F401 - fixture
    start_cluster_job,
)

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]

HOST, OTHER = 1, 0  # rooms live on node 1; callers use node 0 (where the worker is registered)


async def test_backend_on_other_node_ends_the_job(
    cluster_env: ClusterEnv, node_apis: list[api.LiveKitAPI], room_name: str
) -> None:
    job = await start_cluster_job(cluster_env, node_apis, room_name, host=HOST, user_node=OTHER)
    assert cluster_env.cluster.node_hosting(room_name) != OTHER  # the API node does not host the room
    client = client_on(cluster_env, node_apis[OTHER])

    result = await client.shutdown(
        room_name, ShutdownCommand(reason="tenant suspended"), agent=job.agent_identity, timeout=TIMEOUT
    )

    assert result.status is AckStatus.ACCEPTED
    assert (result.ack.agent_identity, result.ack.job_id) == (job.agent_identity, job.job_id)
    callback = await job_ended_once(cluster_env, job)
    assert callback["reason"] == format_reason(ISSUER, result.request_id, "tenant suspended")
    assert callback["caller_reason"] == "tenant suspended"
    assert job.user is not None
    await job.user.wait_participant_left(job.agent_identity, timeout=TIMEOUT)
    assert await room_exists(node_apis[OTHER], room_name)
    assert await identities(node_apis[OTHER], room_name) == ["user"]
    await job.user.disconnect()


async def test_discovery_and_wait_for_exit_across_nodes(
    cluster_env: ClusterEnv, node_apis: list[api.LiveKitAPI], room_name: str
) -> None:
    job = await start_cluster_job(cluster_env, node_apis, room_name, host=HOST)
    client = client_on(cluster_env, node_apis[OTHER])

    assert await client.list_agents(room_name) == (job.agent_identity,)
    result = await client.shutdown(
        room_name, ShutdownCommand(reason="maintenance"), timeout=TIMEOUT, wait_for_exit=TIMEOUT
    )

    assert result.status is AckStatus.ACCEPTED
    assert result.agent_identity == job.agent_identity
    assert result.agent_left is True
    await job_ended_once(cluster_env, job)
    assert await room_exists(node_apis[OTHER], room_name)  # the room outlives its agent (empty_timeout 300 s)


async def test_minted_payload_relayed_by_participant_on_other_node(
    cluster_env: ClusterEnv, node_apis: list[api.LiveKitAPI], room_name: str
) -> None:
    job = await start_cluster_job(cluster_env, node_apis, room_name, host=HOST, user_node=OTHER)
    assert job.user is not None
    minted = mint_request(
        cluster_env.key,
        ShutdownCommand(reason="user hung up"),
        room=room_name,
        agent=job.agent_identity,
        issuer="web-backend",
    )

    response = await job.user.local.perform_rpc(
        destination_identity=minted.agent, method=minted.method, payload=minted.payload, response_timeout=TIMEOUT
    )

    ack = Acknowledgement.from_json(response)
    assert (ack.status, ack.request_id, ack.agent_identity) == (
        AckStatus.ACCEPTED,
        minted.request_id,
        job.agent_identity,
    )
    callback = await job_ended_once(cluster_env, job)
    assert callback["reason"] == format_reason("web-backend", minted.request_id, "user hung up")
    caller = cluster_env.worker.record.events(room=room_name, event="remote_shutdown_accepted")[0]["caller"]
    assert caller == "user"
    await job.user.wait_participant_left(job.agent_identity, timeout=TIMEOUT)
    assert job.user.room.isconnected()
    await job.user.disconnect()


async def test_same_request_through_both_nodes_at_once(
    cluster_env: ClusterEnv, node_apis: list[api.LiveKitAPI], room_name: str
) -> None:
    job = await start_cluster_job(cluster_env, node_apis, room_name, host=HOST)
    signed = make_payload(
        cluster_env.key, ShutdownCommand(reason="twice"), room=room_name, agent=job.agent_identity, issuer=ISSUER
    )
    policy = RetryPolicy(max_attempts=1, attempt_timeout_s=10.0)

    async def through(node: int) -> object:
        channel = ServerChannel(node_apis[node], room_name, job.agent_identity)
        return await deliver(
            channel,
            signed.payload,
            room=room_name,
            agent=job.agent_identity,
            request_id=signed.request_id,
            timeout_s=TIMEOUT,
            policy=policy,
        )

    results = await asyncio.gather(through(0), through(1))

    statuses = sorted(r.status.value for r in results)  # type: ignore[attr-defined]
    assert statuses == ["accepted", "duplicate"]
    assert all(r.request_id == signed.request_id for r in results)  # type: ignore[attr-defined]
    await job_ended_once(cluster_env, job)
    assert accepted_ids(cluster_env, room_name) == [signed.request_id]
