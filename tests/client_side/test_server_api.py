"""ShutdownClient against the fake Twirp server: every outcome mapping, retries, discovery, wait-for-exit."""

from __future__ import annotations

import pytest

from shutdown_rpc.client_side import (
    AgentLeftBeforeReply,
    AgentNotFound,
    NotSupported,
    Refused,
    RoomNotFound,
    SeveralAgents,
    ShutdownClient,
    ShutdownCommand,
    ShutdownFailed,
    ShutdownResult,
    Timeout,
    TransportError,
)
from shutdown_rpc.client_side._receipts import flush_receipts
from shutdown_rpc.protocol import AckStatus, ErrorCode, HmacSha256Key
from shutdown_rpc.protocol.wire import unpack_envelope

from .conftest import FAST, KEY
from .fake_livekit import API_KEY, FakeLiveKit, Leave, RpcErr, Twirp, agent

OTHER_KEY = HmacSha256Key("other", b"o" * 32)


async def test_accepted_with_room_admin_token(fake: tuple[FakeLiveKit, str], client: ShutdownClient) -> None:
    server, _ = fake
    a = agent("agent-1", [KEY])
    server.add("room-1", a)
    result = await client.shutdown("room-1", ShutdownCommand(reason="done"), agent="agent-1")
    assert result.status is AckStatus.ACCEPTED
    assert (result.agent_identity, result.ack.job_id, result.attempts) == ("agent-1", "AJ_fake", 1)
    assert result.ack.request_id == result.request_id
    assert server.grants and all(admin and room == "room-1" for admin, room in server.grants)


async def test_the_receipt_is_the_acknowledgements_token(fake: tuple[FakeLiveKit, str], client: ShutdownClient) -> None:
    server, _ = fake
    a = agent("agent-1", [KEY])
    server.add("room-1", a)
    result = await client.shutdown("room-1", ShutdownCommand(reason="done"), agent="agent-1")
    await flush_receipts()
    assert result.ack.receipt is not None
    assert a.receipts == [result.ack.receipt]  # never the request id, which the ending attributes publish
    assert result.ack.receipt not in repr(result)


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (RpcErr(1400, "Method not supported at destination"), NotSupported),
        (RpcErr(1404, "Unsupported RPC version"), NotSupported),
        (RpcErr(1402, "Request payload too large"), TransportError),
        (RpcErr(1504, "Response payload too large"), TransportError),
        (RpcErr(4999, "someone else's code"), TransportError),
        (Twirp("unauthenticated", 401, "bad token"), TransportError),
        (Twirp("invalid_argument", 400, "destination identity is required"), TransportError),
    ],
)
async def test_permanent_failures_are_not_retried(
    fake: tuple[FakeLiveKit, str], client: ShutdownClient, step: object, expected: type[ShutdownFailed]
) -> None:
    server, _ = fake
    a = agent("agent-1", [KEY], script=[step])
    server.add("room-1", a)
    with pytest.raises(expected) as info:
        await client.shutdown("room-1", agent="agent-1")
    assert len(a.payloads) == 1
    assert not info.value.retryable


async def test_refusal_carries_spec_code(fake: tuple[FakeLiveKit, str], client: ShutdownClient) -> None:
    server, _ = fake
    server.add("room-1", agent("agent-1", [OTHER_KEY]))  # the agent does not know our key
    with pytest.raises(Refused) as info:
        await client.shutdown("room-1", agent="agent-1")
    error = info.value
    assert error.code is ErrorCode.UNKNOWN_KEY and error.name == "UNKNOWN_KEY" and not error.retryable
    assert "backend-1" in error.detail


async def test_retryable_refusal_is_reported_not_looped(fake: tuple[FakeLiveKit, str], client: ShutdownClient) -> None:
    server, _ = fake
    data = '{"version":1,"code":4133,"name":"VETOED","retryable":true}'
    a = agent("agent-1", [KEY], script=[RpcErr(4133, "VETOED: busy", data)])
    server.add("room-1", a)
    with pytest.raises(Refused) as info:
        await client.shutdown("room-1", agent="agent-1")
    assert info.value.code is ErrorCode.VETOED and info.value.retryable and info.value.detail == "busy"
    assert len(a.payloads) == 1


@pytest.mark.parametrize(
    "step",
    [
        RpcErr(1502, "Response timeout", process=True),
        RpcErr(1501, "Connection timeout", process=True),
        RpcErr(1503, "Recipient disconnected", process=True),
        RpcErr(1505, "Failed to send"),
        RpcErr(1500, "Application error in method handler"),
        RpcErr(4150, "INTERNAL_ERROR: oops", process=False),
        Twirp("deadline_exceeded", 408, "request timed out"),
        Twirp("unavailable", 503, "no response from servers"),
        Twirp("internal", 500, "something broke"),
    ],
)
async def test_retries_reuse_the_request_id(
    fake: tuple[FakeLiveKit, str], client: ShutdownClient, step: object
) -> None:
    server, _ = fake
    a = agent("agent-1", [KEY], script=[step])
    server.add("room-1", a)
    result = await client.shutdown("room-1", agent="agent-1")
    assert result.attempts == 2 and len(a.payloads) == 2
    assert a.payloads[0] == a.payloads[1]
    assert unpack_envelope(a.payloads[0]).body  # the same signed bytes, so the same request id
    processed = isinstance(step, RpcErr) and step.process
    assert result.status is (AckStatus.DUPLICATE if processed else AckStatus.ACCEPTED)


async def test_gives_up_after_max_attempts_with_timeout(fake: tuple[FakeLiveKit, str], client: ShutdownClient) -> None:
    server, _ = fake
    a = agent("agent-1", [KEY], script=[RpcErr(1502, "Response timeout")] * 10)
    server.add("room-1", a)
    with pytest.raises(Timeout) as info:
        await client.shutdown("room-1", agent="agent-1")
    assert len(a.payloads) == FAST.max_attempts and len(set(a.payloads)) == 1
    assert info.value.retryable


async def test_gives_up_on_transient_server_errors(fake: tuple[FakeLiveKit, str], client: ShutdownClient) -> None:
    server, _ = fake
    a = agent("agent-1", [KEY], script=[Twirp("internal", 500, "broken")] * 10)
    server.add("room-1", a)
    with pytest.raises(TransportError) as info:
        await client.shutdown("room-1", agent="agent-1")
    assert info.value.retryable and len(a.payloads) == FAST.max_attempts


async def test_zero_deadline_sends_once(fake: tuple[FakeLiveKit, str], client: ShutdownClient) -> None:
    server, _ = fake
    a = agent("agent-1", [KEY], script=[RpcErr(1502, "Response timeout")] * 10)
    server.add("room-1", a)
    with pytest.raises(Timeout):
        await client.shutdown("room-1", agent="agent-1", timeout=0)
    assert len(a.payloads) == 1


@pytest.mark.parametrize("delete_room", [False, True])
async def test_agent_left_before_reply(
    fake: tuple[FakeLiveKit, str], client: ShutdownClient, delete_room: bool
) -> None:
    server, _ = fake
    a = agent("agent-1", [KEY], script=[Leave(delete_room=delete_room)])
    server.add("room-1", a)
    with pytest.raises(AgentLeftBeforeReply) as info:
        await client.shutdown("room-1", agent="agent-1")
    assert len(a.payloads) == 1
    assert info.value.ending_announced is False  # the server API cannot see a departed agent's attributes
    assert info.value.announced_request_id is None


async def test_unknown_agent_and_room_send_nothing(fake: tuple[FakeLiveKit, str], client: ShutdownClient) -> None:
    server, _ = fake
    server.add("room-1", agent("agent-1", [KEY]))
    with pytest.raises(AgentNotFound):
        await client.shutdown("room-1", agent="ghost")
    with pytest.raises(RoomNotFound):
        await client.shutdown("nope", agent="agent-1")
    with pytest.raises(RoomNotFound):
        await client.shutdown("nope")
    assert server.calls.get("PerformRpc", 0) == 0


async def test_discovery_none_one_several(fake: tuple[FakeLiveKit, str], client: ShutdownClient) -> None:
    server, _ = fake
    server.add("empty")
    server.add("humans", agent("alice", [KEY], advertise=False, kind=0))
    with pytest.raises(AgentNotFound):
        await client.shutdown("humans")
    server.add("one", agent("alice", [], advertise=False, kind=0), agent("agent-1", [KEY], advertise=False))
    assert (await client.shutdown("one")).agent_identity == "agent-1"
    server.add("many", agent("agent-a", [KEY]), agent("agent-b", [KEY]))
    with pytest.raises(SeveralAgents) as info:
        await client.shutdown("many")
    assert info.value.identities == ("agent-a", "agent-b")


async def test_discovery_prefers_advertisers(fake: tuple[FakeLiveKit, str], client: ShutdownClient) -> None:
    server, _ = fake
    server.add("mixed", agent("plain-agent", [KEY], advertise=False), agent("ours", [KEY]))
    assert (await client.shutdown("mixed")).agent_identity == "ours"


async def test_shutdown_all(fake: tuple[FakeLiveKit, str], client: ShutdownClient) -> None:
    server, _ = fake
    good, bad = agent("agent-a", [KEY]), agent("agent-b", [OTHER_KEY])
    server.add("many", good, bad, agent("alice", [], advertise=False, kind=0))
    results = await client.shutdown_all("many")
    assert set(results) == {"agent-a", "agent-b"}
    assert isinstance(results["agent-a"], ShutdownResult)
    assert isinstance(results["agent-b"], Refused)
    # one request per agent, each bound to its own target
    assert unpack_envelope(good.payloads[0]).body != unpack_envelope(bad.payloads[0]).body
    server.add("humans", agent("alice", [], advertise=False, kind=0))
    with pytest.raises(AgentNotFound):
        await client.shutdown_all("humans")


async def test_wait_for_exit(fake: tuple[FakeLiveKit, str], client: ShutdownClient) -> None:
    server, _ = fake

    def reply_then_leave(payload: str) -> str:
        answer = target.answer("room-1", payload)
        del server.rooms["room-1"]["agent-1"]
        return answer

    target = agent("agent-1", [KEY], script=[reply_then_leave])
    server.add("room-1", target)
    result = await client.shutdown("room-1", agent="agent-1", wait_for_exit=5)
    assert result.agent_left is True
    server.add("room-2", agent("agent-2", [KEY]))
    stays = await client.shutdown("room-2", agent="agent-2", wait_for_exit=0)
    assert stays.agent_left is False


async def test_bad_credentials_are_a_transport_error(fake: tuple[FakeLiveKit, str]) -> None:
    server, url = fake
    server.add("room-1", agent("agent-1", [KEY]))
    async with ShutdownClient(KEY, issuer="t", url=url, api_key=API_KEY, api_secret="wrong" * 8) as c:
        with pytest.raises(TransportError) as info:
            await c.shutdown("room-1", agent="agent-1")
    assert "LIVEKIT_API_SECRET" in str(info.value) and "wrong" not in str(info.value)


async def test_unreachable_server(fake: tuple[FakeLiveKit, str]) -> None:
    async with ShutdownClient(
        KEY, issuer="t", url="http://127.0.0.1:9", api_key=API_KEY, api_secret="x" * 32, retry=FAST
    ) as c:
        with pytest.raises(TransportError) as info:
            await c.shutdown("room-1", agent="agent-1", timeout=3)
    assert info.value.retryable


def test_credentials_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "LIVEKIT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="LIVEKIT_URL"):
        ShutdownClient(KEY, issuer="t")
