"""The replay memory is the one home of REQUEST_ID_CONFLICT: reserve while deciding, then commit or release."""

from __future__ import annotations

import pytest

from shutdown_rpc.protocol import (
    Acknowledgement,
    AckStatus,
    AgentBinding,
    DuplicateRequest,
    ErrorCode,
    HmacSha256Key,
    KeyRing,
    ShutdownRpcError,
    VerifiedRequest,
    Verifier,
    build_request,
    sign_request,
)
from shutdown_rpc.protocol.wire import FixedClock, ReplayCache

NOW_MS = 1_800_000_000_000
KEY = HmacSha256Key("hmac-1", b"s" * 32)
BINDING = AgentBinding("room-1", "agent-1")


def _ack(request_id: str, status: AckStatus = AckStatus.ACCEPTED) -> Acknowledgement:
    return Acknowledgement(
        status=status, request_id=request_id, agent_identity="agent-1", job_id="AJ_1", agent_time_ms=NOW_MS
    )


def _conflict(code_of: pytest.ExceptionInfo[ShutdownRpcError]) -> bool:
    return code_of.value.code is ErrorCode.REQUEST_ID_CONFLICT


def test_reserve_then_commit_remembers_and_repeats_are_duplicates() -> None:
    replay = ReplayCache()
    first = replay.reserve("id-1", b"message", NOW_MS)
    assert first.first
    copy = replay.reserve("id-1", b"message", NOW_MS)
    assert not copy.first  # a copy of the request being decided: it waits for the first one's answer
    with pytest.raises(ShutdownRpcError) as info:
        replay.reserve("id-1", b"other message", NOW_MS)
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
    held = replay.reserve("id-1", b"message", NOW_MS)
    replay.release(held)
    again = replay.reserve("id-1", b"other message", NOW_MS)  # the id is free again: a refusal is not remembered
    assert again.first and len(replay) == 0
    copy = replay.reserve("id-1", b"other message", NOW_MS)
    replay.release(copy)  # only the first holder ends a reservation
    with pytest.raises(ShutdownRpcError) as info:
        replay.reserve("id-1", b"message", NOW_MS)
    assert _conflict(info)


def test_a_full_memory_refuses_at_reserve_and_pending_reservations_count() -> None:
    replay = ReplayCache(max_entries=2)
    replay.commit(replay.reserve("id-1", b"a", NOW_MS), _ack("id-1"), NOW_MS + 1000, NOW_MS)
    pending = replay.reserve("id-2", b"b", NOW_MS)  # being decided: it takes the last room
    with pytest.raises(ShutdownRpcError) as info:
        replay.reserve("id-3", b"c", NOW_MS)
    assert info.value.code is ErrorCode.RATE_LIMITED  # refused before any decision, nothing evicted
    assert replay.lookup("id-1", NOW_MS) is not None
    assert not replay.reserve("id-2", b"b", NOW_MS).first  # a copy of the pending request needs no room
    with pytest.raises(ShutdownRpcError) as info:
        replay.reserve("id-2", b"other", NOW_MS)
    assert _conflict(info)  # a reused id is still a conflict, full or not
    replay.commit(pending, _ack("id-2"), NOW_MS + 2000, NOW_MS)  # a held reservation always has room
    assert len(replay) == 2
    with pytest.raises(ShutdownRpcError) as info:
        replay.reserve("id-3", b"c", NOW_MS + 999)  # full of live entries
    assert info.value.code is ErrorCode.RATE_LIMITED
    assert replay.reserve("id-3", b"c", NOW_MS + 1000).first  # id-1 can no longer verify: its room is free
    assert replay.lookup("id-1", NOW_MS + 1000) is None and replay.lookup("id-2", NOW_MS + 1000) is not None


def test_a_released_reservation_frees_its_room() -> None:
    replay = ReplayCache(max_entries=1)
    held = replay.reserve("id-1", b"a", NOW_MS)
    with pytest.raises(ShutdownRpcError) as info:
        replay.reserve("id-2", b"b", NOW_MS)
    assert info.value.code is ErrorCode.RATE_LIMITED
    replay.release(held)  # refused: nothing remembered, the room is free again
    assert replay.reserve("id-2", b"b", NOW_MS).first
    assert len(replay) == 0


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
