"""The replay memory is the one home of REQUEST_ID_CONFLICT: reserve while deciding, then commit or release."""

from __future__ import annotations

import pytest

from shutdown_rpc.protocol import (
    Ack,
    AckStatus,
    Binding,
    DuplicateRequest,
    ErrorCode,
    FixedClock,
    HmacSha256Key,
    KeyRing,
    ReplayCache,
    ShutdownRpcError,
    VerifiedRequest,
    Verifier,
    build_request,
    sign_request,
)

NOW_MS = 1_800_000_000_000
KEY = HmacSha256Key("hmac-1", b"s" * 32)
BINDING = Binding("room-1", "agent-1")


def _ack(request_id: str, status: AckStatus = AckStatus.ACCEPTED) -> Ack:
    return Ack(status=status, request_id=request_id, agent_identity="agent-1", job_id="AJ_1", agent_time_ms=NOW_MS)


def _conflict(code_of: pytest.ExceptionInfo[ShutdownRpcError]) -> bool:
    return code_of.value.code is ErrorCode.REQUEST_ID_CONFLICT


def test_reserve_then_commit_remembers_and_repeats_are_duplicates() -> None:
    replay = ReplayCache()
    first = replay.reserve("id-1", b"message")
    assert first.first
    copy = replay.reserve("id-1", b"message")
    assert not copy.first  # a copy of the request being decided: it waits for the first one's answer
    with pytest.raises(ShutdownRpcError) as info:
        replay.reserve("id-1", b"other message")
    assert _conflict(info)
    assert replay.lookup("id-1", NOW_MS) is None  # nothing committed yet
    replay.commit(first, _ack("id-1").as_duplicate(), NOW_MS + 1000, NOW_MS)
    entry = replay.check("id-1", b"message", NOW_MS)
    assert entry is not None and entry.duplicate_ack.status is AckStatus.DUPLICATE
    with pytest.raises(ShutdownRpcError) as info:
        replay.check("id-1", b"other message", NOW_MS)
    assert _conflict(info)
    assert replay.check("id-1", b"message", NOW_MS + 1000) is None  # forgotten once it can no longer verify
    assert len(replay) == 1


def test_release_forgets_a_refused_request() -> None:
    replay = ReplayCache()
    held = replay.reserve("id-1", b"message")
    replay.release(held)
    again = replay.reserve("id-1", b"other message")  # the id is free again: a refusal is not remembered
    assert again.first and len(replay) == 0
    copy = replay.reserve("id-1", b"other message")
    replay.release(copy)  # only the first holder ends a reservation
    with pytest.raises(ShutdownRpcError) as info:
        replay.reserve("id-1", b"message")
    assert _conflict(info)


def test_commit_into_a_full_memory_is_rate_limited_and_ends_the_reservation() -> None:
    replay = ReplayCache(max_entries=1)
    replay.commit(replay.reserve("id-1", b"a"), _ack("id-1"), NOW_MS + 1000, NOW_MS)
    held = replay.reserve("id-2", b"b")
    with pytest.raises(ShutdownRpcError) as info:
        replay.commit(held, _ack("id-2"), NOW_MS + 1000, NOW_MS)
    assert info.value.code is ErrorCode.RATE_LIMITED
    assert replay.reserve("id-2", b"c").first  # the failed commit released the id
    assert len(replay) == 1


def test_accepting_a_verified_request_records_it() -> None:
    clock = FixedClock(NOW_MS)
    verifier = Verifier(KeyRing([KEY]), clock=clock)
    request = build_request(room="room-1", target="agent-1", reason="r", issuer="b", clock=clock)
    payload = sign_request(request, KEY)
    verified = verifier.verify(payload, BINDING)
    assert isinstance(verified, VerifiedRequest)
    assert isinstance(verifier.verify(payload, BINDING), VerifiedRequest)  # not remembered before accept
    reservation = verified.reserve()
    other = build_request(room="room-1", target="agent-1", reason="other", issuer="b", clock=clock)
    reused_id = sign_request(other.model_copy(update={"request_id": request.request_id}), KEY)
    other_verified = verifier.verify(reused_id, BINDING)
    assert isinstance(other_verified, VerifiedRequest)
    with pytest.raises(ShutdownRpcError) as info:  # same id, other content, while the first is being decided
        other_verified.reserve()
    assert _conflict(info)
    verified.accept(_ack(request.request_id), reservation=reservation)
    repeat = verifier.verify(payload, BINDING)
    assert isinstance(repeat, DuplicateRequest) and repeat.ack.status is AckStatus.DUPLICATE
