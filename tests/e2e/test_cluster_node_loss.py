"""The node hosting the agent's room dies while a shutdown call is pending: the caller gets a typed outcome
within its deadline, never a hang. The node is restarted afterwards, so later tests still have two."""

from __future__ import annotations

import asyncio

import pytest
from livekit import api

from shutdown_rpc.client_side import (
    AgentLeftBeforeReply,
    RetryPolicy,
    ShutdownCommand,
    ShutdownFailed,
    Timeout,
    TransportError,
)
from tests.e2e.cluster_fixtures import (
    TIMEOUT,
    ClusterEnv,
    client_on,
    cluster_env_fixture,  # noqa: F401 - fixture
    node_apis_fixture,  # noqa: F401 - fixture
    start_cluster_job,
)

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]

HOST, CALLER = 1, 0
DEADLINE_S = 15.0
# Beyond the deadline the call may take one last presence check (delivery.PRESENCE_CHECK_GRACE_S) and the
# HTTP margin of an attempt in flight: a bound that tells "returned in time" from "hung", not a speed goal.
SLACK_S = 10.0


@pytest.mark.parametrize("graceful", [False, True], ids=["killed", "sigterm"])
async def test_host_node_stopped_while_call_pending(
    cluster_env: ClusterEnv, node_apis: list[api.LiveKitAPI], room_name: str, graceful: bool
) -> None:
    cluster = cluster_env.cluster
    # the agent holds its reply for 60 s (veto hook): the call is pending when the node goes away
    job = await start_cluster_job(cluster_env, node_apis, room_name, host=HOST, metadata={"hold_ack_s": 60})
    client = client_on(cluster_env, node_apis[CALLER], retry=RetryPolicy(attempt_timeout_s=12.0))
    loop = asyncio.get_running_loop()
    started = loop.time()
    call = asyncio.create_task(
        client.shutdown(room_name, ShutdownCommand(reason="node loss"), agent=job.agent_identity, timeout=DEADLINE_S)
    )
    try:
        await cluster_env.worker.record.wait_for(room=room_name, event="veto_called", timeout=TIMEOUT)
        await asyncio.to_thread(cluster.stop_node, HOST, graceful=graceful)

        with pytest.raises(ShutdownFailed) as caught:
            await asyncio.wait_for(call, DEADLINE_S + SLACK_S)
        elapsed = loop.time() - started
    finally:
        call.cancel()
        await asyncio.to_thread(cluster.restart_node, HOST)

    outcome = caught.value
    assert isinstance(outcome, (Timeout, AgentLeftBeforeReply, TransportError)), repr(outcome)
    assert outcome.room == room_name and outcome.agent == job.agent_identity
    assert elapsed <= DEADLINE_S + SLACK_S
    # nothing was accepted: the reply was still held when the node died
    assert not cluster_env.worker.record.events(room=room_name, event="remote_shutdown_accepted")
    print(f"node {'stopped' if graceful else 'killed'} mid-call -> {type(outcome).__name__}: {outcome}")
