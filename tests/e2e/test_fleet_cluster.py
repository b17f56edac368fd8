"""Fleet operations on the real 2-node cluster: rooms on both nodes chosen by a name glob, every agent ends with
the caller's reason, rooms stay; confirmation by webhooks (verified posts from the nodes) and by polling."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from livekit import api

from harness.room_state import room_exists
from shutdown_rpc.agent_side._reason import format_reason
from shutdown_rpc.client_side import RoomNotFound, ShutdownCommand, ShutdownResult
from shutdown_rpc.client_side.fleet import RoomStatus, WebhookListener, end_fleet, select_rooms
from shutdown_rpc.protocol import dump_key_file
from tests.e2e.cluster_fixtures import (
    ISSUER,
    TIMEOUT,
    WEBHOOK_PATH,
    ClusterEnv,
    ClusterJob,
    client_on,
    cluster_env_fixture,  # noqa: F401 - fixture
    job_ended_once,
    node_apis_fixture,  # noqa: F401 - fixture
    start_cluster_job,
)

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]

SCRIPT = Path(sys.executable).with_name("shutdown-rpc")


async def test_fleet_by_glob_confirmed_by_webhooks(cluster_env: ClusterEnv, node_apis: list[api.LiveKitAPI]) -> None:
    tenant = f"tenant-{uuid.uuid4().hex[:6]}"
    jobs = [
        await start_cluster_job(cluster_env, node_apis, f"{tenant}-call-{i}", host=i % 2) for i in range(3)
    ]  # rooms on both nodes
    bystander = await start_cluster_job(cluster_env, node_apis, f"other-{tenant}", host=1)
    client = client_on(cluster_env, node_apis[0])
    env = cluster_env.cluster
    async with WebhookListener(env.api_key, env.api_secret, port=cluster_env.webhook_port, path=WEBHOOK_PATH) as hooks:
        rooms = await select_rooms(client, pattern=f"{tenant}-*")
        assert rooms == sorted(j.room for j in jobs)

        outcomes = [
            o
            async for o in end_fleet(
                client, rooms, ShutdownCommand(reason="deploy rollback"), timeout=TIMEOUT, confirm_timeout=TIMEOUT,
                departures=hooks,
            )
        ]  # fmt: skip

        assert hooks.received >= len(jobs) and hooks.rejected == 0
        for job in jobs:
            assert hooks.has_left(job.room, job.agent_identity)  # the webhook, not the fallback check, saw it
    assert sorted(o.room for o in outcomes) == rooms
    by_room = {o.room: o for o in outcomes}
    for job in jobs:
        outcome = by_room[job.room]
        assert outcome.status is RoomStatus.ENDED, outcome
        result = outcome.results[job.agent_identity]
        assert isinstance(result, ShutdownResult) and result.agent_left is True
        callback = await job_ended_once(cluster_env, job)
        assert callback["reason"] == format_reason(ISSUER, result.request_id, "deploy rollback")
        assert await room_exists(node_apis[1], job.room)  # rooms are kept
    await assert_untouched(cluster_env, bystander)
    await node_apis[0].room.delete_room(api.DeleteRoomRequest(room=bystander.room))  # free its job


async def test_fleet_dry_run_then_polling(cluster_env: ClusterEnv, node_apis: list[api.LiveKitAPI]) -> None:
    tenant = f"tenant-{uuid.uuid4().hex[:6]}"
    job = await start_cluster_job(cluster_env, node_apis, f"{tenant}-call", host=1)
    empty = f"{tenant}-empty"
    await cluster_env.cluster.create_room_on(node_apis[0], empty, 0, empty_timeout=300)
    missing = f"{tenant}-missing"
    client = client_on(cluster_env, node_apis[0])

    plan = {o.room: o async for o in end_fleet(client, [job.room, empty, missing], dry_run=True)}
    assert plan[job.room].status is RoomStatus.PLANNED and plan[job.room].planned == (job.agent_identity,)
    assert plan[empty].status is RoomStatus.NO_AGENT
    assert plan[missing].status is RoomStatus.FAILED and isinstance(plan[missing].error, RoomNotFound)
    assert not cluster_env.worker.record.events(room=job.room, event="veto_called")  # nothing was sent

    outcomes = {
        o.room: o
        async for o in end_fleet(
            client,
            [job.room, empty, missing],
            ShutdownCommand(reason="polling"),
            timeout=TIMEOUT,
            confirm_timeout=TIMEOUT,
        )
    }
    assert outcomes[job.room].status is RoomStatus.ENDED
    assert outcomes[empty].status is RoomStatus.NO_AGENT
    assert outcomes[missing].status is RoomStatus.FAILED
    await job_ended_once(cluster_env, job)


async def assert_untouched(env: ClusterEnv, job: ClusterJob) -> None:
    """The job of a room that was not selected got no request and is still running."""
    assert not env.worker.record.events(room=job.room, event="veto_called")
    assert not env.worker.record.events(room=job.room, event="shutdown_callback")


async def test_fleet_command_on_cluster(
    cluster_env: ClusterEnv, node_apis: list[api.LiveKitAPI], tmp_path: Path
) -> None:
    tenant = f"tenant-{uuid.uuid4().hex[:6]}"
    jobs = [await start_cluster_job(cluster_env, node_apis, f"{tenant}-{i}", host=i % 2) for i in range(2)]
    key_file = tmp_path / "key.json"
    key_file.write_text(dump_key_file(cluster_env.key))
    key_file.chmod(0o600)
    cluster = cluster_env.cluster
    env = {
        **os.environ,
        "LIVEKIT_URL": cluster.nodes[0].url,
        "LIVEKIT_API_KEY": cluster.api_key,
        "LIVEKIT_API_SECRET": cluster.api_secret,
        "SHUTDOWN_RPC_KEY_FILE": str(key_file),
    }
    args = [
        "fleet", "--match", f"{tenant}-*", "--reason", "cli maintenance", "--issuer", ISSUER, "--wait", str(TIMEOUT),
        "--webhook-listen", f"127.0.0.1:{cluster_env.webhook_port}", "--webhook-path", WEBHOOK_PATH,
    ]  # fmt: skip

    proc = await asyncio.to_thread(
        subprocess.run, [str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=2 * TIMEOUT
    )

    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert proc.stdout.splitlines()[-1] == "2 room(s): 2 ended"
    for job in jobs:
        assert f"ended: {job.room!r}: {job.agent_identity} accepted, left" in proc.stdout
        callback = await job_ended_once(cluster_env, job)
        assert callback["caller_reason"] == "cli maintenance"
