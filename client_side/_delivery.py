"""Sending one signed request until it is answered: the retry loop shared by the server-API and in-room paths.

A transport (a :class:`Channel`) does one RPC attempt and reports failures as :class:`RpcFailure`: the LiveKit
RPC error code when there is one, else a coarse :class:`FailureKind`. :func:`deliver` turns those into a
:class:`~shutdown_rpc.client_side.ShutdownResult` or one :class:`~shutdown_rpc.client_side.ShutdownFailed`:

* every retry sends the SAME payload (same request id), so an agent that already accepted answers
  ``duplicate``; nothing is retried past one overall deadline;
* only what can help is retried: lost or unanswered deliveries while the agent is still present, send
  failures, transient server errors, and the agent's own INTERNAL_ERROR;
* when a reply is missing, the agent's presence decides between :class:`~shutdown_rpc.client_side.Timeout` (still there)
  and :class:`~shutdown_rpc.client_side.AgentLeftBeforeReply` (gone: it most likely shut down; a route that sees
  the agent's attributes also tells whether they announced the ending of THIS request).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from shutdown_rpc.protocol import Acknowledgement, ErrorCode
from shutdown_rpc.protocol.wire import Ending, parse_refusal

from ._outcomes import (
    AgentNotFound,
    NotSupported,
    Refused,
    RoomNotFound,
    ShutdownFailed,
    ShutdownResult,
    Timeout,
    TransportError,
    left_before_reply,
)
from ._receipts import send_receipt_soon

DEFAULT_TIMEOUT_S = 20.0
"""Overall deadline of one shutdown call, retries included (server API and in-room alike)."""

# LiveKit's built-in RPC error codes (livekit.rtc.RpcError.ErrorCode, and the server's utils/data_channel_rpc.go).
APPLICATION_ERROR = 1500
CONNECTION_TIMEOUT = 1501
RESPONSE_TIMEOUT = 1502
RECIPIENT_DISCONNECTED = 1503
RESPONSE_PAYLOAD_TOO_LARGE = 1504
SEND_FAILED = 1505
UNSUPPORTED_METHOD = 1400
RECIPIENT_NOT_FOUND = 1401
REQUEST_PAYLOAD_TOO_LARGE = 1402
UNSUPPORTED_SERVER = 1403
UNSUPPORTED_VERSION = 1404

# LiveKit's RPC layer gives a handler this long at least; shorter response timeouts only cause spurious 1502s.
MIN_RESPONSE_TIMEOUT_S = 2.0
# How long a presence check may take once the deadline has passed (it decides Timeout vs AgentLeftBeforeReply).
PRESENCE_CHECK_GRACE_S = 3.0
# After a "recipient gone" failure, how long the agent may still be listed before we believe it is present.
DEPARTURE_SETTLE_S = 3.0
DEPARTURE_POLL_S = 0.1


class FailureKind(enum.Enum):
    """What a failed attempt means for delivery, when there is no LiveKit RPC code to say it."""

    #: Never reached the agent, sending again can help (connection refused, 5xx "unavailable", ...).
    TRANSIENT = "transient"
    #: May or may not have reached the agent, no answer came (timeouts, lost connection, "no response").
    UNANSWERED = "unanswered"
    #: The destination participant (or its room) is not there.
    NOT_FOUND = "not_found"
    #: No answer because the destination went away mid-call (PerformRpc's "unavailable: no response").
    DESTINATION_GONE = "destination_gone"
    #: Will fail the same way again (bad credentials, invalid argument, ...).
    PERMANENT = "permanent"


class RpcFailure(Exception):
    """One failed attempt, as a transport reports it: a LiveKit RPC error (``rpc_code``) or a ``kind``."""

    def __init__(
        self,
        message: str,
        *,
        rpc_code: int | None = None,
        data: str | None = None,
        kind: FailureKind = FailureKind.PERMANENT,
        transport_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.rpc_code = rpc_code
        self.data = data
        self.kind = kind
        self.transport_code = transport_code


class Presence(enum.Enum):
    """Whether the agent is in the room, as far as a check can tell."""

    PRESENT = "present"
    AGENT_GONE = "agent_gone"
    ROOM_GONE = "room_gone"
    UNKNOWN = "unknown"


class Channel(Protocol):
    """One route to one agent: an RPC attempt, and a presence check of that agent."""

    async def call(self, payload: str, *, response_timeout_s: float, timeout_s: float) -> str:
        """Perform one RPC with ``payload``; return the response payload or raise :class:`RpcFailure`.

        ``response_timeout_s`` is what LiveKit gives the handler; ``timeout_s`` bounds the whole attempt.
        """
        ...

    async def presence(self, *, timeout_s: float) -> Presence:
        """Whether the agent is still in the room (never raises; UNKNOWN when it cannot tell)."""
        ...

    async def receipt(self, receipt_token: str, *, timeout_s: float) -> None:
        """Tell the agent its acknowledgement arrived: send its ``receipt_token`` (spec §11); raises RpcFailure."""
        ...

    def announced_ending(self) -> Ending | None:
        """The ending the agent's attributes last showed (spec §10), or None: none, or this route cannot see them."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of the retry loop. ``attempt_timeout_s`` is the RPC response timeout of one attempt."""

    max_attempts: int = 4
    attempt_timeout_s: float = 5.0
    backoff_s: float = 0.25
    max_backoff_s: float = 2.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.attempt_timeout_s < MIN_RESPONSE_TIMEOUT_S:
            raise ValueError(f"attempt_timeout_s must be >= {MIN_RESPONSE_TIMEOUT_S}")
        if self.backoff_s < 0 or self.max_backoff_s < 0:
            raise ValueError("backoff must be >= 0")

    def backoff(self, attempt: int) -> float:
        """Pause after failed attempt number ``attempt`` (1-based): exponential, capped."""
        return float(min(self.max_backoff_s, self.backoff_s * (2 ** (attempt - 1))))


class _Step(enum.Enum):
    RETRY = "retry"
    CHECK = "check"  # retry if the agent is still present, else it left


def _classify(failure: RpcFailure, room: str, agent: str) -> _Step | ShutdownFailed:
    """Map one failed attempt onto a next step or a final error (the table in the README/report)."""
    code = failure.rpc_code
    if code is None:
        if failure.kind is FailureKind.TRANSIENT:
            return _Step.RETRY
        if failure.kind in (FailureKind.UNANSWERED, FailureKind.NOT_FOUND, FailureKind.DESTINATION_GONE):
            return _Step.CHECK
        return TransportError(failure.message, code=failure.transport_code, room=room, agent=agent)
    refusal = parse_refusal(code, failure.message, failure.data)
    if refusal is not None:
        if refusal.code is ErrorCode.INTERNAL_ERROR:
            return _Step.RETRY
        return Refused(refusal, room=room, agent=agent)
    if code in (CONNECTION_TIMEOUT, RESPONSE_TIMEOUT, RECIPIENT_DISCONNECTED, RECIPIENT_NOT_FOUND):
        return _Step.CHECK
    if code in (SEND_FAILED, APPLICATION_ERROR):
        return _Step.RETRY
    if code in (UNSUPPORTED_METHOD, UNSUPPORTED_SERVER, UNSUPPORTED_VERSION):
        return NotSupported(
            f"{agent!r} does not handle the shutdown method: LiveKit RPC {code}: {failure.message}",
            room=room,
            agent=agent,
        )
    return TransportError(f"LiveKit RPC {code}: {failure.message}", code=code, room=room, agent=agent)


def _final_error(failure: RpcFailure, room: str, agent: str) -> ShutdownFailed:
    """The error to report when a retryable failure is the last one (deadline or attempts exhausted)."""
    code = failure.rpc_code
    if code is not None:
        refusal = parse_refusal(code, failure.message, failure.data)
        if refusal is not None:
            return Refused(refusal, room=room, agent=agent)
        what = f"LiveKit RPC {code}: {failure.message}"
    else:
        what = failure.message
    return TransportError(
        f"gave up on {agent!r}: {what}", retryable=True, code=code or failure.transport_code, room=room, agent=agent
    )


def parse_ack(response: str, request_id: str, room: str, agent: str) -> Acknowledgement:
    """The agent's acknowledgement, checked to answer OUR request; else TransportError."""
    try:
        ack = Acknowledgement.from_json(response)
    except ValueError as exc:
        raise TransportError(
            f"{agent!r} answered something that is not an acknowledgement: {exc}", room=room, agent=agent
        ) from None
    if ack.request_id != request_id:
        raise TransportError(f"{agent!r} acknowledged another request id", room=room, agent=agent)
    return ack


async def deliver(
    channel: Channel,
    payload: str,
    *,
    room: str,
    agent: str,
    request_id: str,
    timeout_s: float,
    policy: RetryPolicy,
) -> ShutdownResult:
    """Send ``payload`` until acknowledged, refused, or ``timeout_s`` (overall) has passed.

    The agent must have been seen present before this is called: any later absence means it left.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + timeout_s
    last: RpcFailure | None = None
    last_step = _Step.RETRY  # what the last failure called for (each failure is classified once)
    attempt = 0
    while attempt < policy.max_attempts:
        remaining = deadline - loop.time()
        if remaining < MIN_RESPONSE_TIMEOUT_S and attempt > 0:
            break
        attempt += 1
        response_timeout = max(MIN_RESPONSE_TIMEOUT_S, min(policy.attempt_timeout_s, remaining))
        try:
            response = await channel.call(payload, response_timeout_s=response_timeout, timeout_s=max(remaining, 0.1))
        except RpcFailure as failure:
            last = failure
        else:
            ack = acknowledged(channel, response, request_id, room, agent)
            return ShutdownResult(room, agent, request_id, ack, attempt, loop.time() - started)

        step = _classify(last, room, agent)
        if isinstance(step, ShutdownFailed):
            raise step
        last_step = step
        if step is _Step.CHECK:
            presence = await _presence_after(last, channel)
            if presence is Presence.AGENT_GONE or presence is Presence.ROOM_GONE:
                where = "its room was deleted" if presence is Presence.ROOM_GONE else "it left the room"
                ending = channel.announced_ending()
                raise left_before_reply(where, request_id=request_id, ending=ending, room=room, agent=agent)
        pause = policy.backoff(attempt)
        if deadline - loop.time() - pause < MIN_RESPONSE_TIMEOUT_S:
            break
        await asyncio.sleep(pause)

    assert last is not None
    if last_step is _Step.CHECK:
        raise Timeout(
            f"no reply from {agent!r} within {timeout_s:g} s after {attempt} attempt(s); it is still in the room"
            f" or could not be checked (request {request_id}): {last.message}",
            room=room,
            agent=agent,
        )
    raise _final_error(last, room, agent)


def acknowledged(channel: Channel, response: str, request_id: str, room: str, agent: str) -> Acknowledgement:
    """The acknowledgement in ``response``; when it carries a receipt token (``accepted`` or ``duplicate``), that
    token goes back as the receipt (spec §2)."""
    ack = parse_ack(response, request_id, room, agent)
    if ack.receipt is not None:
        send_receipt_soon(channel, ack.receipt)
    return ack


def _suggests_departure(failure: RpcFailure) -> bool:
    """The failure says the destination went away (not merely that it was slow)."""
    return failure.rpc_code in (RECIPIENT_DISCONNECTED, RECIPIENT_NOT_FOUND) or failure.kind in (
        FailureKind.NOT_FOUND,
        FailureKind.DESTINATION_GONE,
    )


async def _presence_after(failure: RpcFailure, channel: Channel) -> Presence:
    """The agent's presence after a failed attempt.

    When the failure says the destination went away, the server's participant list can still show the agent
    for a moment after the agent disconnected: poll until it is gone or DEPARTURE_SETTLE_S has passed, so a
    shutdown whose reply was lost is reported as AgentLeftBeforeReply rather than as a timeout.
    """
    loop = asyncio.get_running_loop()
    settle_until = loop.time() + (DEPARTURE_SETTLE_S if _suggests_departure(failure) else 0.0)
    while True:
        presence = await channel.presence(timeout_s=PRESENCE_CHECK_GRACE_S)
        if presence is not Presence.PRESENT or loop.time() >= settle_until:
            return presence
        await asyncio.sleep(DEPARTURE_POLL_S)


async def check_present(channel: Channel, *, room: str, agent: str, timeout_s: float) -> None:
    """Raise RoomNotFound / AgentNotFound unless the agent is in the room now (UNKNOWN passes: try anyway)."""
    presence = await channel.presence(timeout_s=timeout_s)
    if presence is Presence.ROOM_GONE:
        raise RoomNotFound(f"room {room!r} does not exist", room=room, agent=agent)
    if presence is Presence.AGENT_GONE:
        raise AgentNotFound(f"no participant {agent!r} in room {room!r}", room=room, agent=agent)


async def deliver_to_each(
    agents: Sequence[str], one: Callable[[str], Awaitable[ShutdownResult]]
) -> dict[str, ShutdownResult | ShutdownFailed]:
    """Run ``one(agent)`` for every agent concurrently; the outcome (result or ShutdownFailed) per identity."""
    outcomes = await asyncio.gather(*(one(agent) for agent in agents), return_exceptions=True)
    results: dict[str, ShutdownResult | ShutdownFailed] = {}
    for identity, outcome in zip(agents, outcomes, strict=True):
        if isinstance(outcome, (ShutdownResult, ShutdownFailed)):
            results[identity] = outcome
        else:
            raise outcome
    return results
