"""Issue 22 at the edges, on a real livekit-server with the real example agent: a receipt only the caller can
send, a flooding participant removed from the room, and PerformRpc ``unavailable`` under load.

The example agent here waits up to 10 s (the most the policy allows) for the caller's receipt, and records
``caller_receipt`` when a receipt with its token arrived for every answer that carried it (its
``receipt_received`` event), which ends that wait at once (tests/agent_side/test_receipt_count.py). Orders are
compared on the agent's recorded wall clock; nothing is timed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import ClientSession, web
from livekit import api, rtc

from harness.room_state import identities
from shutdown_rpc.agent_side._reason import format_reason
from shutdown_rpc.client_side import RetryPolicy, ShutdownClient, ShutdownCommand, ShutdownResult
from shutdown_rpc.client_side._perform_rpc import perform_rpc
from shutdown_rpc.protocol import Acknowledgement, AckStatus, ErrorCode, ShutdownOptions, build_request, sign_request
from shutdown_rpc.protocol.wire import METHOD_NAME, RECEIPT_METHOD_NAME, new_receipt_token
from tests.e2e.conftest import WorkerFactory
from tests.e2e.remote_fixtures import (  # noqa: F401 - fixtures
    TIMEOUT,
    E2EKeys,
    ExampleAgent,
    e2e_keys_fixture,
    example_agent_fixture,
    job_ended_once,
    start_example_agent,
    start_job,
    wall_ms,
)

pytestmark = pytest.mark.e2e

ISSUER = "edge-backend"
LONG_BOUND_S = "10"  # the agent's receipt wait: longer than any step of these tests takes


@pytest.fixture(scope="module")
def patient_agent(
    agent_worker_factory: WorkerFactory, e2e_keys: E2EKeys, tmp_path_factory: pytest.TempPathFactory
) -> ExampleAgent:
    """The example agent, waiting up to 10 s for the caller's receipt."""
    return start_example_agent(
        agent_worker_factory, e2e_keys, tmp_path_factory, SHUTDOWN_RPC_REPLY_FLUSH_DELAY_S=LONG_BOUND_S
    )


def signed(keys: E2EKeys, room: str, agent: str, reason: str) -> tuple[str, str]:
    request = build_request(room=room, target=agent, reason=reason, issuer=ISSUER, options=ShutdownOptions.defaults())
    return sign_request(request, keys.hmac), request.request_id


def job_log(agent: ExampleAgent, job_id: str) -> list[str]:
    """The worker log's lines of one job (livekit-agents tags each with its job id)."""
    return [line for line in agent.worker.log_tail(max_chars=1 << 24).splitlines() if job_id in line]


async def job_log_line(agent: ExampleAgent, job_id: str, text: str) -> None:
    """Wait until the job's log has a line with ``text`` (job processes forward their records to the worker)."""
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not any(text in line for line in job_log(agent, job_id)):
        assert asyncio.get_running_loop().time() < deadline, f"no log line {text!r} of job {job_id}"
        await asyncio.sleep(0.1)


async def call(lkapi: api.LiveKitAPI, room: str, agent: str, method: str, payload: str) -> str:
    return await perform_rpc(
        lkapi,
        room=room,
        destination_identity=agent,
        method=method,
        payload=payload,
        response_timeout_s=10,
        timeout_s=30,
    )


async def test_only_the_callers_receipt_ends_the_wait(
    patient_agent: ExampleAgent,
    e2e_keys: E2EKeys,
    lkapi: api.LiveKitAPI,
    participant_factory: Any,
    room_name: str,
) -> None:
    job = await start_job(patient_agent, lkapi, participant_factory, room_name)
    intruder = await participant_factory(room_name, "intruder")
    agent = await intruder.wait_for_participant(job.agent_identity, timeout=TIMEOUT)
    payload, request_id = signed(e2e_keys, room_name, job.agent_identity, "only mine")

    ack = Acknowledgement.from_json(
        await call(lkapi, room_name, job.agent_identity, METHOD_NAME, payload)
    )  # no receipt yet
    assert ack.status is AckStatus.ACCEPTED
    token = ack.receipt
    assert token is not None and token != request_id

    # The old attack: the ending attributes publish the request id; a participant sends it as the receipt.
    await intruder.wait_until(lambda: agent.attributes.get("shutdown_rpc.state") == "ending", timeout=TIMEOUT)
    assert agent.attributes["shutdown_rpc.request_id"] == request_id
    assert token not in "".join(agent.attributes.values())
    for forged in (request_id, new_receipt_token(), ""):
        answer = await intruder.local.perform_rpc(
            destination_identity=job.agent_identity, method=RECEIPT_METHOD_NAME, payload=forged, response_timeout=10
        )
        assert answer == ""

    real_receipt_ms = wall_ms()
    assert await call(lkapi, room_name, job.agent_identity, RECEIPT_METHOD_NAME, token) == ""
    receipt = await patient_agent.events.wait_for(room=room_name, event="caller_receipt", timeout=TIMEOUT)
    assert receipt["wall_ms"] >= real_receipt_ms  # the forged ones, answered before, did not end the wait
    await job.user.wait_participant_left(job.agent_identity, timeout=TIMEOUT)
    callback = await job_ended_once(patient_agent, job)
    assert callback["reason"] == format_reason(ISSUER, request_id, "only mine")
    await job_log_line(patient_agent, job.job_id, "3 receipt(s) without the acknowledgement's token changed nothing")
    assert not [line for line in job_log(patient_agent, job.job_id) if token in line]


async def test_a_flooding_participant_is_removed_and_a_valid_request_then_accepted(
    example_agent: ExampleAgent,
    e2e_keys: E2EKeys,
    lkapi: api.LiveKitAPI,
    participant_factory: Any,
    room_name: str,
) -> None:
    job = await start_job(example_agent, lkapi, participant_factory, room_name)
    flooder = await participant_factory(room_name, "flooder")
    await flooder.wait_for_participant(job.agent_identity, timeout=TIMEOUT)

    codes: list[int] = []
    # Eviction comes after 10 + 20 refusals, or at the first one after the agent has seen the flooder join (the
    # flooder may see the agent, and call it, before the agent's room knows the flooder).
    while flooder.room.isconnected() and len(codes) < 2000:
        with contextlib.suppress(Exception):  # a call in flight when the flooder is removed fails otherwise
            try:
                await flooder.local.perform_rpc(
                    destination_identity=job.agent_identity, method=METHOD_NAME, payload="garbage", response_timeout=10
                )
            except rtc.RpcError as refused:
                codes.append(refused.code)
    await flooder.wait_disconnected(timeout=TIMEOUT)

    assert "flooder" not in await identities(lkapi, room_name)
    assert codes[:10] == [ErrorCode.MALFORMED] * 10  # the per-caller budget: 10 refusals
    assert codes.count(ErrorCode.RATE_LIMITED) >= 20  # then 20 over it (a token may refill meanwhile)
    await job_log_line(example_agent, job.job_id, "removed flooder from the room after")
    lines = job_log(example_agent, job.job_id)
    assert len([line for line in lines if "removed flooder from the room after" in line]) == 1
    assert len([line for line in lines if "caller flooder is over its refusal budget" in line]) == 1
    assert not [line for line in lines if "remote shutdown refused (rate_limited" in line]  # none per refusal

    client = ShutdownClient(e2e_keys.hmac, issuer=ISSUER, lkapi=lkapi)
    result = await client.shutdown(
        room_name, ShutdownCommand(reason="after the flood"), agent=job.agent_identity, timeout=TIMEOUT
    )
    assert result.status == "accepted"
    await job_ended_once(example_agent, job)


class UnavailableOnce:
    """A loopback proxy in front of the server API: the first PerformRpc of ``method`` is forwarded to the server
    (the agent gets it and answers) but its caller gets Twirp ``unavailable`` "no response from servers", as
    livekit-server answered a valid request under flood (issue 22). Everything else passes through."""

    def __init__(self, upstream: str, method: str) -> None:
        self.upstream = upstream.replace("ws://", "http://").rstrip("/")
        self.method = method
        self.injected = 0
        self.session: ClientSession | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        assert self.session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self.session.post(self.upstream + request.path, data=body, headers=headers) as upstream:
            answer = await upstream.read()
            status, content_type = upstream.status, upstream.headers.get("Content-Type", "application/json")
        if request.path.endswith("/PerformRpc") and self.method.encode() in body and self.injected == 0:
            self.injected += 1
            return web.json_response({"code": "unavailable", "msg": "no response from servers"}, status=503)
        return web.Response(body=answer, status=status, content_type=content_type.split(";")[0])


@pytest_asyncio.fixture
async def unavailable_once(livekit_server: Any) -> AsyncIterator[tuple[UnavailableOnce, str]]:
    proxy = UnavailableOnce(livekit_server.url, METHOD_NAME)
    app = web.Application()
    app.router.add_post("/{tail:.*}", proxy.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with ClientSession() as session:
        proxy.session = session
        try:
            yield proxy, f"http://127.0.0.1:{port}"
        finally:
            await runner.cleanup()


async def flood(lkapi: api.LiveKitAPI, room: str, agent: str, stop: asyncio.Event) -> int:
    """Invalid PerformRpc calls, 16 in flight, until ``stop``: load on the server and the agent."""
    sent = 0

    async def one() -> None:
        nonlocal sent
        while not stop.is_set():
            sent += 1
            with contextlib.suppress(Exception):
                await call(lkapi, room, agent, METHOD_NAME, "garbage")

    await asyncio.gather(*(one() for _ in range(16)))
    return sent


async def test_performrpc_unavailable_under_load_is_retried_to_a_typed_answer(
    patient_agent: ExampleAgent,
    e2e_keys: E2EKeys,
    lkapi: api.LiveKitAPI,
    livekit_server: Any,
    participant_factory: Any,
    room_name: str,
    unavailable_once: tuple[UnavailableOnce, str],
) -> None:
    proxy, proxy_url = unavailable_once
    job = await start_job(patient_agent, lkapi, participant_factory, room_name)
    stop = asyncio.Event()
    load = asyncio.create_task(flood(lkapi, room_name, job.agent_identity, stop))
    deadline_s = 20.0
    try:
        async with api.LiveKitAPI(proxy_url, livekit_server.api_key, livekit_server.api_secret) as through_proxy:
            client = ShutdownClient(e2e_keys.hmac, issuer=ISSUER, lkapi=through_proxy, retry=RetryPolicy())
            result = await asyncio.wait_for(
                client.shutdown(
                    room_name, ShutdownCommand(reason="under load"), agent=job.agent_identity, timeout=deadline_s
                ),
                deadline_s + 10,  # a bound against hangs: the client's own deadline is what is checked
            )
            assert isinstance(result, ShutdownResult)
            assert result.status == "duplicate" and result.attempts >= 2  # the first answer was lost; the retry
            assert result.ack.receipt is not None  # got its copy, with the token, which goes out as the receipt
            # No wait for caller_receipt: the agent answered both attempts with the token and the caller, holding
            # one answer, sends one receipt, so the agent leaves at its bound (spec §11 step 3), not on a receipt.
            await job.user.wait_participant_left(job.agent_identity, timeout=TIMEOUT)
    finally:
        stop.set()
        assert await load > 0
    assert proxy.injected == 1
    callback = await job_ended_once(patient_agent, job)
    assert callback["reason"] == format_reason(ISSUER, result.request_id, "under load")
