"""Twirp message parsing (shapes recorded from livekit-server 1.13), and the in-room caller with a fake Room."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

import pytest
from livekit import api, rtc

from shutdown_rpc.client_side import (
    AgentLeftBeforeReply,
    AgentNotFound,
    CallerHidden,
    Refused,
    RetryPolicy,
    RoomShutdownCaller,
    SeveralAgents,
    ShutdownCommand,
    Timeout,
)
from shutdown_rpc.client_side._delivery import FailureKind, Presence, RpcFailure, deliver
from shutdown_rpc.client_side._perform_rpc import parse_server_error
from shutdown_rpc.protocol import AckStatus, ErrorCode, ShutdownRpcError
from shutdown_rpc.protocol.wire import (
    ATTR_ISSUER,
    ATTR_REQUEST_ID,
    ATTR_STATE,
    Ending,
    advertisement_attributes,
    ending_attributes,
)

from .conftest import FAST, KEY
from .fake_livekit import FakeParticipant, agent


def test_parse_refusal_from_real_server_message() -> None:
    msg = (
        "twirp error unknown: RpcError 4110: UNKNOWN_KEY: unknown key id 'k: x': "
        '{"version":1,"code":4110,"name":"UNKNOWN_KEY","retryable":false}'
    )
    failure = parse_server_error(api.ServerError("internal", msg, status=500))
    assert failure.rpc_code == 4110
    assert failure.message == "UNKNOWN_KEY: unknown key id 'k: x'"
    assert failure.data == '{"version":1,"code":4110,"name":"UNKNOWN_KEY","retryable":false}'


@pytest.mark.parametrize(
    ("code", "status", "msg", "rpc_code", "kind"),
    [
        ("canceled", 408, "twirp error unknown: RpcError 1502: Response timeout", 1502, None),
        (
            "invalid_argument",
            400,
            "twirp error unknown: RpcError 1400: Method not supported at destination",
            1400,
            None,
        ),
        ("unavailable", 503, "twirp error unknown: no response from servers", None, FailureKind.DESTINATION_GONE),
        ("deadline_exceeded", 408, "twirp error unknown: request timed out", None, FailureKind.UNANSWERED),
        ("not_found", 404, "twirp error unknown: participant does not exist", None, FailureKind.NOT_FOUND),
        ("unauthenticated", 401, "invalid token", None, FailureKind.PERMANENT),
        ("internal", 500, "boom", None, FailureKind.TRANSIENT),
    ],
)
def test_parse_server_error(code: str, status: int, msg: str, rpc_code: int | None, kind: FailureKind | None) -> None:
    failure = parse_server_error(api.ServerError(code, msg, status=status))
    assert failure.rpc_code == rpc_code
    if kind is not None:
        assert failure.kind is kind


@dataclass
class AnnounceAndLeave:
    """Script step: the agent accepts, sets ``attributes`` (over signalling, so they arrive), then leaves: the
    reply is lost, the caller gets LiveKit 1503."""

    attributes: dict[str, str]


class FakeRoom:
    """Just what RoomShutdownCaller uses of rtc.Room; perform_rpc answers with a FakeParticipant's logic."""

    def __init__(self, *agents: FakeParticipant, hidden: bool = False) -> None:
        self.name = "room-1"
        self.agents = {a.identity: a for a in agents}
        self.remote_participants = {
            a.identity: SimpleNamespace(identity=a.identity, kind=a.kind, attributes=a.attributes) for a in agents
        }
        self.handlers: dict[str, list[Any]] = {}
        self.subscribed = asyncio.Event()
        self.local_participant = SimpleNamespace(
            identity="me", permissions=SimpleNamespace(hidden=hidden), perform_rpc=self._perform_rpc
        )

    def isconnected(self) -> bool:
        return True

    def on(self, event: str, cb: Any) -> None:
        self.handlers.setdefault(event, []).append(cb)
        self.subscribed.set()

    def off(self, event: str, cb: Any) -> None:
        self.handlers[event].remove(cb)

    def leave(self, identity: str) -> None:
        participant = self.remote_participants.pop(identity)
        for cb in list(self.handlers.get("participant_disconnected", [])):
            cb(participant)

    async def _perform_rpc(
        self, *, destination_identity: str, method: str, payload: str, response_timeout: float
    ) -> str:
        target = self.agents[destination_identity]
        target.payloads.append(payload)
        step = target.script.pop(0) if target.script else None
        if isinstance(step, AnnounceAndLeave):
            target.answer(self.name, payload)  # accepted; the reply is lost
            self.remote_participants[destination_identity].attributes.update(step.attributes)
            self.leave(destination_identity)
            raise rtc.RpcError(1503, "Recipient disconnected")
        if cast(object, step) == "leave":
            target.answer(self.name, payload)
            self.leave(destination_identity)
            raise rtc.RpcError(1503, "Recipient disconnected")
        try:
            return target.answer(self.name, payload)
        except ShutdownRpcError as error:
            from shutdown_rpc.protocol.wire import refusal_data, refusal_message

            raise rtc.RpcError(int(error.code), refusal_message(error), refusal_data(error)) from None


def caller(room: FakeRoom, policy: RetryPolicy = FAST) -> RoomShutdownCaller:
    return RoomShutdownCaller(room, KEY, issuer="tests", retry=policy)  # type: ignore[arg-type]


async def test_hidden_caller_is_refused_before_sending() -> None:
    a = agent("agent-1", [KEY])
    with pytest.raises(CallerHidden):
        await caller(FakeRoom(a, hidden=True)).shutdown()
    assert a.payloads == []


async def test_in_room_accept_and_wait_for_exit() -> None:
    a = agent("agent-1", [KEY])
    room = FakeRoom(a)
    c = caller(room)
    result = await c.shutdown(ShutdownCommand(reason="bye"))
    assert result.status is AckStatus.ACCEPTED
    waiting = asyncio.ensure_future(c.wait_for_exit("agent-1", timeout=30))
    await room.subscribed.wait()
    room.leave("agent-1")
    assert await waiting is True
    assert await c.wait_for_exit("agent-1", timeout=0) is True


async def test_in_room_outcomes() -> None:
    with pytest.raises(Refused) as info:
        await caller(FakeRoom(agent("agent-1", []))).shutdown(agent="agent-1")
    assert info.value.code is ErrorCode.UNKNOWN_KEY
    with pytest.raises(AgentNotFound):
        await caller(FakeRoom(agent("agent-1", [KEY]))).shutdown(agent="ghost")
    with pytest.raises(SeveralAgents):
        await caller(FakeRoom(agent("a", [KEY]), agent("b", [KEY]))).shutdown()
    with pytest.raises(AgentLeftBeforeReply):
        await caller(FakeRoom(agent("agent-1", [KEY], script=["leave"]))).shutdown()
    results = await caller(FakeRoom(agent("a", [KEY]), agent("b", [KEY]))).shutdown_all()
    assert sorted(results) == ["a", "b"]


OURS = "our-request-" + "0" * 12
OTHER = "another-request-" + "0" * 8


async def test_lost_reply_with_our_ending_announced_says_so() -> None:
    ending = ending_attributes(Ending(OURS, "tests", "bye"))
    a = agent("agent-1", [KEY], script=[AnnounceAndLeave(ending)])
    with pytest.raises(AgentLeftBeforeReply) as info:
        await caller(FakeRoom(a)).shutdown(ShutdownCommand(reason="bye", request_id=OURS))
    assert info.value.ending_announced is True
    assert info.value.announced_request_id == OURS
    assert "the agent announced it was ending for this request" in str(info.value)
    assert len(a.payloads) == 1  # no retry: the agent is gone


@pytest.mark.parametrize(
    ("attributes", "announced"),
    [
        (ending_attributes(Ending(OTHER, "someone-else")), OTHER),
        ({}, None),
        ({ATTR_STATE: "ending", ATTR_REQUEST_ID: OURS}, None),  # no issuer: no conforming agent's ending
        ({ATTR_STATE: "ending", ATTR_REQUEST_ID: OURS, ATTR_ISSUER: "a [b]"}, None),  # brackets break §4
        ({ATTR_STATE: "ending", ATTR_REQUEST_ID: OURS + "x" * 64, ATTR_ISSUER: "tests"}, None),  # too long
        ({ATTR_STATE: "listening", ATTR_REQUEST_ID: OURS, ATTR_ISSUER: "tests"}, None),
    ],
    ids=["another-request", "none", "no-issuer", "bad-issuer", "oversized-id", "not-ending"],
)
async def test_lost_reply_without_our_ending_announced_says_nothing_more(
    attributes: dict[str, str], announced: str | None
) -> None:
    a = agent("agent-1", [KEY], script=[AnnounceAndLeave(attributes)])
    with pytest.raises(AgentLeftBeforeReply) as info:
        await caller(FakeRoom(a)).shutdown(ShutdownCommand(request_id=OURS))
    assert info.value.ending_announced is False
    assert info.value.announced_request_id == announced
    assert "for this request" not in str(info.value)


def test_advertisement_is_what_discovery_reads() -> None:
    assert advertisement_attributes(["k"])  # the helper the fake agents use


class _LaggingPresenceChannel:
    """A channel whose only attempt fails as 'recipient gone' while the server still lists the agent a while."""

    def __init__(self, failure: RpcFailure, present_checks: int) -> None:
        self.failure = failure
        self.present_checks = present_checks
        self.presence_calls = 0

    async def call(self, payload: str, *, response_timeout_s: float, timeout_s: float) -> str:
        raise self.failure

    async def presence(self, *, timeout_s: float) -> Presence:
        self.presence_calls += 1
        return Presence.PRESENT if self.presence_calls <= self.present_checks else Presence.AGENT_GONE

    async def receipt(self, receipt_token: str, *, timeout_s: float) -> None:
        raise AssertionError("no acknowledgement, so no receipt")

    def announced_ending(self) -> Ending | None:
        return None


@pytest.mark.parametrize(
    "failure",
    [
        RpcFailure("recipient disconnected", rpc_code=1503),
        RpcFailure("no response from servers", kind=FailureKind.DESTINATION_GONE, transport_code="unavailable"),
    ],
    ids=["rpc-1503", "twirp-unavailable"],
)
async def test_lost_reply_while_agent_still_listed_is_left_before_reply_not_timeout(failure: RpcFailure) -> None:
    channel = _LaggingPresenceChannel(failure, present_checks=2)
    with pytest.raises(AgentLeftBeforeReply):
        await deliver(
            channel, "p", room="r", agent="a", request_id="x" * 22, timeout_s=10.0, policy=RetryPolicy(max_attempts=1)
        )
    assert channel.presence_calls == 3


async def test_slow_agent_still_present_is_a_timeout() -> None:
    channel = _LaggingPresenceChannel(RpcFailure("response timeout", rpc_code=1502), present_checks=100)
    with pytest.raises(Timeout):
        await deliver(
            channel, "p", room="r", agent="a", request_id="x" * 22, timeout_s=10.0, policy=RetryPolicy(max_attempts=1)
        )
    assert channel.presence_calls == 1  # a plain timeout is not a departure: no settling
