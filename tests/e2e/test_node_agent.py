"""The Node agent (LiveKit Agents for Node.js, livekit-shutdown-rpc/agent) end to end: a real livekit-server, the
example Node agent (js/examples/agent/agent.mjs, a speaking AgentSession) in a real worker, real callers.

Ended by the Python ShutdownClient (server API), by the ``shutdown-rpc`` CLI, by a Node participant relaying a
minted payload, and through the other node of a 2-node Redis cluster; each checks the acknowledgement, the ending
attributes the user saw, silence before the leave, the receipt-driven leave, the callback once with the caller's
reason, the room alive and the job recorded JS_SUCCESS (tests/e2e/node_fixtures.py). Plus refusals that keep the
agent, a duplicate, and the silence as the user hears it. Nothing is timed; every wait is on an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from livekit import api

from harness.job_states import JobEnding, wait_job_ending
from harness.livekit_server import LiveKitServer
from harness.participant import RoomParticipant, connect_participant
from harness.room_state import identities, room_exists
from shutdown_rpc.client_side import Refused, RetryPolicy, ShutdownClient, ShutdownCommand, mint_request
from shutdown_rpc.client_side._delivery import deliver
from shutdown_rpc.client_side._perform_rpc import perform_rpc
from shutdown_rpc.protocol import (
    Acknowledgement,
    ErrorCode,
    HmacSha256Key,
    ShutdownOptions,
    build_request,
    dump_key_file,
    sign_request,
)
from shutdown_rpc.protocol.wire import METHOD_NAME, RECEIPT_METHOD_NAME, FixedClock
from tests.e2e.cluster_fixtures import ClusterEnv, cluster_env_fixture, node_apis_fixture  # noqa: F401 - fixtures
from tests.e2e.node_fixtures import (  # noqa: F401
    NodeAgent,
    NodeJob,
    assert_node_job_ended,
    node_agent_fixture,
    node_binary_fixture,
    start_node_job,
    start_node_worker,
)
from tests.e2e.remote_fixtures import (  # noqa: F401
    TIMEOUT,
    E2EKeys,
    e2e_keys_fixture,
    send_through_server_and_room,
    server_api_channel,
    wall_ms,
)
from tests.e2e.test_js_clients import js_client, run_js, token_for  # noqa: F401 - fixture

pytestmark = [pytest.mark.e2e, pytest.mark.node_agent]

ISSUER = "billing-backend"
NO_RETRY = RetryPolicy(max_attempts=1, attempt_timeout_s=10.0)
REPO_ROOT = Path(__file__).resolve().parents[2]


async def job_in(node_agent: NodeAgent, lkapi: api.LiveKitAPI, participant_factory: Any, room: str) -> NodeJob:
    user: RoomParticipant = await participant_factory(room, "user")
    return await start_node_job(node_agent, lkapi, user, room)


async def assert_success_in_live_room(lkapi: api.LiveKitAPI, server_logs: list[Path], job: NodeJob) -> None:
    """The user stays, alone, in a room that still exists; the server recorded the job as a success."""
    assert job.user.room.isconnected()
    assert await room_exists(lkapi, job.room)
    assert await identities(lkapi, job.room) == ["user"]
    # in a cluster, the node that hosts the room records it
    ending = await first_done(*(wait_job_ending(log, job.job_id, timeout=TIMEOUT) for log in server_logs))
    assert (ending.status, ending.error) == ("JS_SUCCESS", ""), ending


async def first_done(*waits: Coroutine[Any, Any, JobEnding]) -> JobEnding:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        for done in asyncio.as_completed(tasks):
            with contextlib.suppress(TimeoutError):
                return await done
        raise AssertionError("no server recorded the job's end")
    finally:
        for task in tasks:
            task.cancel()


async def test_python_backend_ends_node_job(
    livekit_server: LiveKitServer, node_agent: NodeAgent, e2e_keys: E2EKeys, lkapi: api.LiveKitAPI,
    participant_factory: Any, room_name: str,
) -> None:  # fmt: skip
    job = await job_in(node_agent, lkapi, participant_factory, room_name)
    client = ShutdownClient(e2e_keys.ed25519, issuer=ISSUER, lkapi=lkapi)

    result = await client.shutdown(
        room_name, ShutdownCommand(reason="invoice unpaid"), agent=job.agent_identity, timeout=TIMEOUT
    )

    assert result.status == "accepted"
    assert (result.ack.agent_identity, result.ack.job_id) == (job.agent_identity, job.job_id)
    await assert_node_job_ended(node_agent, job, request_id=result.request_id, issuer=ISSUER, reason="invoice unpaid")
    accepted = node_agent.events.events(room=room_name, event="remote_shutdown_accepted")[0]
    assert accepted["key_id"] == e2e_keys.ed25519.key_id
    await assert_success_in_live_room(lkapi, [livekit_server.log_path], job)


async def test_cli_ends_node_job(
    livekit_server: LiveKitServer, node_agent: NodeAgent, e2e_keys: E2EKeys, lkapi: api.LiveKitAPI,
    participant_factory: Any, room_name: str, tmp_path: Path,
) -> None:  # fmt: skip
    job = await job_in(node_agent, lkapi, participant_factory, room_name)
    key_file = tmp_path / "backend.key.json"
    key_file.write_text(dump_key_file(e2e_keys.hmac))
    key_file.chmod(0o600)
    env = {**os.environ, **livekit_server.env()}
    proc = await asyncio.create_subprocess_exec(
        str(REPO_ROOT / ".venv" / "bin" / "shutdown-rpc"), "send", "--room", room_name, "--agent", job.agent_identity,
        "--reason", "ended from the CLI", "--issuer", ISSUER, "--key-file", str(key_file), "--json",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)

    assert proc.returncode == 0, err.decode()
    line = json.loads(out.decode().strip().splitlines()[-1])
    assert line["status"] == "accepted", line
    request_id = line["request_id"]
    await assert_node_job_ended(node_agent, job, request_id=request_id, issuer=ISSUER, reason="ended from the CLI")
    await assert_success_in_live_room(lkapi, [livekit_server.log_path], job)


async def test_node_participant_relays_minted_payload(
    js_client: Path, livekit_server: LiveKitServer, node_agent: NodeAgent, e2e_keys: E2EKeys,  # noqa: F811
    lkapi: api.LiveKitAPI, participant_factory: Any, room_name: str,
) -> None:  # fmt: skip
    job = await job_in(node_agent, lkapi, participant_factory, room_name)
    minted = mint_request(
        e2e_keys.hmac, ShutdownCommand(reason="user hung up"), room=room_name, agent=job.agent_identity, issuer=ISSUER
    )

    out = await run_js(
        js_client / "node_client.js",
        {
            "SHUTDOWN_RPC_MODE": "relay",
            "LIVEKIT_URL": livekit_server.url,
            "LIVEKIT_TOKEN": token_for(livekit_server, room_name, "js-relay"),
            "SHUTDOWN_RPC_DESTINATION": job.agent_identity,
            "SHUTDOWN_RPC_PAYLOADS_FIRST": "[]",
            "SHUTDOWN_RPC_PAYLOAD": minted.payload,
        },
    )

    ack = out["result"]["ack"]
    assert (out["result"]["kind"], ack["status"], ack["requestId"]) == ("acknowledged", "accepted", minted.request_id)
    assert (ack["agentIdentity"], ack["jobId"]) == (job.agent_identity, job.job_id)
    assert out["agentLeft"] is True  # the relaying participant saw it leave
    await assert_node_job_ended(node_agent, job, request_id=minted.request_id, issuer=ISSUER, reason="user hung up")
    assert node_agent.events.events(room=room_name, event="remote_shutdown_accepted")[0]["caller"] == "js-relay"
    await assert_success_in_live_room(lkapi, [livekit_server.log_path], job)


async def test_node_agent_ended_through_the_other_cluster_node(
    cluster_env: ClusterEnv, node_apis: list[api.LiveKitAPI], node_binary: str, e2e_keys: E2EKeys,
    room_name: str, tmp_path: Path,
) -> None:  # fmt: skip
    host, other = 1, 0  # the room lives on node 1; the worker is registered with node 0, the caller uses node 0
    cluster = cluster_env.cluster
    agent = start_node_worker(cluster.nodes[0], node_binary, e2e_keys, tmp_path, f"node-cluster-{os.getpid()}")
    user: RoomParticipant | None = None
    try:
        await cluster.create_room_on(node_apis[host], room_name, host, empty_timeout=300, departure_timeout=300)
        user = await connect_participant(
            cluster.nodes[host].url,
            cluster.api_key,
            cluster.api_secret,
            room=room_name,
            identity="user",
            timeout=TIMEOUT,
        )
        job = await start_node_job(agent, node_apis[host], user, room_name)
        assert cluster.node_hosting(room_name) != other
        client = ShutdownClient(e2e_keys.hmac, issuer=ISSUER, lkapi=node_apis[other])

        command = ShutdownCommand(reason="tenant suspended")
        result = await client.shutdown(room_name, command, agent=job.agent_identity, timeout=TIMEOUT)

        assert result.status == "accepted"
        assert (result.ack.agent_identity, result.ack.job_id) == (job.agent_identity, job.job_id)
        await assert_node_job_ended(agent, job, request_id=result.request_id, issuer=ISSUER, reason="tenant suspended")
        logs = [cluster.nodes[host].log_path, cluster.nodes[other].log_path]
        await assert_success_in_live_room(node_apis[other], logs, job)
    finally:
        if user is not None:
            await user.disconnect()
        agent.worker.stop()


async def test_user_hears_silence_before_the_agent_leaves(
    node_agent: NodeAgent, e2e_keys: E2EKeys, lkapi: api.LiveKitAPI, participant_factory: Any, room_name: str
) -> None:
    job = await job_in(node_agent, lkapi, participant_factory, room_name)
    request = build_request(room=room_name, target=job.agent_identity, reason="end call", issuer=ISSUER)
    payload = sign_request(request, e2e_keys.hmac)

    # no receipt yet: the agent waits for its token (at most 10 s) after falling silent
    response = await perform_rpc(
        lkapi, room=room_name, destination_identity=job.agent_identity, method=METHOD_NAME, payload=payload,
        response_timeout_s=10, timeout_s=30,
    )  # fmt: skip
    ack = Acknowledgement.from_json(response)
    assert ack.status == "accepted" and ack.receipt_token is not None
    quiet = await job.watch.wait_quiet(frames=50, timeout=TIMEOUT)  # 0.5 s of silence while the agent is still there
    assert not job.left_ms, "the agent left before the user heard silence"
    assert not job.watch.ended.is_set()
    await perform_rpc(
        lkapi, room=room_name, destination_identity=job.agent_identity, method=RECEIPT_METHOD_NAME,
        payload=ack.receipt_token, response_timeout_s=10, timeout_s=30,
    )  # fmt: skip

    await assert_node_job_ended(node_agent, job, request_id=request.request_id, issuer=ISSUER, reason="end call")
    assert job.watch.last_loud is not None and job.watch.last_loud.wall < quiet.wall
    assert quiet.wall * 1000 < job.left_ms[0]  # ORDER at the user: silent, then the agent left


async def test_refusals_keep_the_node_agent(
    node_agent: NodeAgent, e2e_keys: E2EKeys, lkapi: api.LiveKitAPI, participant_factory: Any, room_name: str
) -> None:
    job = await job_in(node_agent, lkapi, participant_factory, room_name)
    fields: dict[str, Any] = {"room": room_name, "target": job.agent_identity, "reason": "nope", "issuer": ISSUER}
    forger = HmacSha256Key(e2e_keys.hmac.key_id, b"not-the-agents-secret-0123456789abcdef")
    ten_minutes_ago = FixedClock(int(wall_ms()) - 600_000)
    cases = [
        ("bad signature", sign_request(build_request(**fields), forger), ErrorCode.BAD_SIGNATURE),
        ("expired", sign_request(build_request(**fields, clock=ten_minutes_ago), e2e_keys.hmac), ErrorCode.EXPIRED),
        ("wrong room", sign_request(build_request(**{**fields, "room": "x"}), e2e_keys.hmac), ErrorCode.WRONG_ROOM),
    ]
    backend = server_api_channel(lkapi, room_name, job.agent_identity)
    for name, payload, code in cases:
        with pytest.raises(Refused) as refused:
            await deliver(
                backend, payload, room=room_name, agent=job.agent_identity, request_id="-", timeout_s=TIMEOUT,
                policy=NO_RETRY,
            )  # fmt: skip
        assert refused.value.code is code, name
        assert job.agent_identity in job.user.room.remote_participants, f"agent left after {name}"
    assert node_agent.events.events(room=room_name, event="remote_shutdown_accepted") == []
    assert not job.endings

    result = await ShutdownClient(e2e_keys.hmac, issuer=ISSUER, lkapi=lkapi).shutdown(
        room_name, ShutdownCommand(reason="after refusals"), agent=job.agent_identity, timeout=TIMEOUT
    )
    assert result.status == "accepted"
    await assert_node_job_ended(node_agent, job, request_id=result.request_id, issuer=ISSUER, reason="after refusals")


async def test_same_request_twice_ends_the_node_job_once(
    livekit_server: LiveKitServer, node_agent: NodeAgent, e2e_keys: E2EKeys, lkapi: api.LiveKitAPI,
    participant_factory: Any, room_name: str,
) -> None:  # fmt: skip
    job = await job_in(node_agent, lkapi, participant_factory, room_name)
    request = build_request(
        room=room_name, target=job.agent_identity, reason="twice", issuer=ISSUER, options=ShutdownOptions.defaults()
    )
    payload = sign_request(request, e2e_keys.hmac)

    results = await send_through_server_and_room(lkapi, job, payload, request.request_id)

    assert sorted(r.status for r in results) == ["accepted", "duplicate"]
    assert {r.ack.agent_time_ms for r in results} == {results[0].ack.agent_time_ms}  # a duplicate repeats the ack
    await assert_node_job_ended(node_agent, job, request_id=request.request_id, issuer=ISSUER, reason="twice")
    await assert_success_in_live_room(lkapi, [livekit_server.log_path], job)
