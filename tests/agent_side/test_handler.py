"""The RPC handler over a fake JobContext: every outcome, idempotency, concurrency, reply-before-shutdown."""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

import msgpack
import pytest
from livekit import rtc

from shutdown_rpc.agent_side import (
    AccessPolicy,
    EndingTimings,
    KeyScope,
    RateLimit,
    RemoteRequest,
    ShutdownHandler,
    UnsignedCallers,
    enable_remote_shutdown,
    parse_reason,
)
from shutdown_rpc.agent_side._enable import Seams
from shutdown_rpc.agent_side._livekit_compat import REPLY_TURNS
from shutdown_rpc.protocol import Acknowledgement, AckStatus, ErrorCode, HmacSha256Key, ShutdownRpcError
from shutdown_rpc.protocol.wire import (
    ATTRIBUTE_PREFIX,
    METHOD_NAME,
    FixedClock,
    ReplayCache,
    advertisement_attributes,
    encode_body,
    refusal_data,
    refusal_message,
    seal,
    unsigned_request,
)
from tests.agent_side.fakes import (
    AGENT,
    JOB,
    KEY,
    NOW_MS,
    OTHER_KEY,
    ROOM,
    FakeCtx,
    FakeParticipant,
    invocation,
    opts,
    request,
    signed,
)


class Harness:
    def __init__(self, ctx: FakeCtx, remote: ShutdownHandler, clock: FixedClock) -> None:
        self.ctx = ctx
        self.remote = remote
        self.clock = clock

    async def call(self, payload: str, caller: str = "backend-caller") -> str:
        """Invoke the registered handler the way LiveKit does and count the reply once it is produced."""
        handler = self.ctx.room.local_participant.methods[METHOD_NAME]
        try:
            return str(await handler(invocation(payload, caller)))
        finally:
            self.ctx.replies += 1

    async def refused(self, payload: str, code: ErrorCode, caller: str = "backend-caller") -> rtc.RpcError:
        with pytest.raises(rtc.RpcError) as info:
            await self.call(payload, caller)
        err = info.value
        assert err.code == int(code), (err.code, err.message)
        assert json.loads(err.data or "")["name"] == code.name
        assert err.message.startswith(code.name + ": ")
        assert len(err.message.encode()) <= 256
        return err


async def make(
    access: AccessPolicy | None = None,
    *,
    timings: EndingTimings | None = None,
    keys: Any = (KEY, OTHER_KEY),
    replay: ReplayCache | None = None,
    **kw: Any,
) -> Harness:
    ctx = FakeCtx()
    clock = FixedClock(NOW_MS)
    timings = timings or EndingTimings(reply_flush_delay_s=0)
    seams = Seams(clock=clock, replay=replay)
    remote = await enable_remote_shutdown(
        ctx.as_job_context(), keys=keys, access=access, timings=timings, _testing=seams, **kw
    )
    return Harness(ctx, remote, clock)


def no_shutdown_scheduled(h: Harness) -> None:
    assert h.remote.accepted is None
    assert h.ctx.shutdown_calls == []
    assert not h.remote.shutdown_done.is_set()


async def test_accepted_request_acks_first_then_shuts_down_once_with_the_callers_reason() -> None:
    h = await make()
    req = request(reason="scale down")
    reply = await h.call(signed_request(req))
    ack = Acknowledgement.from_json(reply)
    assert (ack.status, ack.request_id, ack.agent_identity, ack.job_id, ack.agent_time_ms) == (
        AckStatus.ACCEPTED,
        req.request_id,
        AGENT,
        JOB,
        NOW_MS,
    )
    assert h.ctx.shutdown_calls == []  # the handler returned before any shutdown started
    await h.ctx.shutdown_called.wait()
    await h.remote.shutdown_done.wait()
    assert h.ctx.shutdown_calls == [f"remote shutdown by backend [{req.request_id}]: scale down"]
    assert h.ctx.replies_before_shutdown == [1]
    parsed = parse_reason(h.ctx.shutdown_calls[0])
    assert parsed is not None and (parsed.issuer, parsed.request_id, parsed.reason) == (
        "backend",
        req.request_id,
        "scale down",
    )
    accepted = h.remote.accepted
    assert accepted is not None and accepted.request_id == req.request_id and accepted.key_id == KEY.key_id
    assert accepted.caller_identity == "backend-caller"
    assert h.remote.counters["accepted"] == 1 and h.remote.counters.refused == 0


def signed_request(req: Any, key: HmacSha256Key = KEY) -> str:
    from shutdown_rpc.protocol import sign_request

    return sign_request(req, key)


async def test_registration_and_advertisement() -> None:
    h = await make()
    assert h.remote.registered.is_set()
    assert METHOD_NAME in h.ctx.room.local_participant.methods
    attrs = h.ctx.room.local_participant.attributes
    assert attrs == advertisement_attributes([KEY.key_id, OTHER_KEY.key_id])
    assert all(k.startswith(ATTRIBUTE_PREFIX) and not k.startswith("lk.") for k in attrs)


async def test_enable_before_connect_registers_once_connected() -> None:
    ctx = FakeCtx(connected=False)
    remote = await enable_remote_shutdown(ctx.as_job_context(), keys=[KEY])
    assert METHOD_NAME not in ctx.room.local_participant.methods
    ctx.room.connect()
    await remote.registered.wait()
    assert ctx.room.local_participant.methods[METHOD_NAME] == remote.handle


async def test_without_keys_the_job_carries_on_and_every_caller_is_told(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("ERROR", logger="shutdown_rpc"):
        h = await make(keys=None, env={})
    (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "remote shutdown DISABLED" in record.getMessage()
    assert "SHUTDOWN_RPC_KEYS holds a key file's JSON object, a JSON array" in record.getMessage()
    assert h.remote.registered.is_set() and h.remote.key_ids == ()
    err = await h.refused(signed(), ErrorCode.UNKNOWN_KEY)
    assert "this agent has no verification keys (SHUTDOWN_RPC_KEYS unset)" in err.message
    await h.refused(unsigned_request(request()), ErrorCode.UNSIGNED_REFUSED)
    no_shutdown_scheduled(h)


def test_test_seams_stay_out_of_the_authors_signature() -> None:
    params = inspect.signature(enable_remote_shutdown).parameters
    assert "clock" not in params and "replay" not in params
    internal = [name for name in params if name.startswith("_")]
    assert internal == ["_testing"] and params["_testing"].kind is inspect.Parameter.KEYWORD_ONLY


async def test_testing_seams_reach_the_verifier() -> None:
    replay = ReplayCache(max_entries=7)
    h = await make(replay=replay)
    assert h.remote._decider.verifier.replay is replay and h.remote._decider.verifier.clock is h.clock


def _body(**fields: Any) -> bytes:
    req = request()
    data = req.wire_dict()
    data.update(fields)
    return msgpack.packb(data, use_bin_type=True)


REFUSALS: list[tuple[str, Any, ErrorCode]] = [
    ("too large", lambda: "A" * 5000, ErrorCode.PAYLOAD_TOO_LARGE),
    ("not base64", lambda: "!!!", ErrorCode.MALFORMED),
    ("version 2", lambda: seal(encode_body(request()), KEY, version=2), ErrorCode.UNSUPPORTED_VERSION),
    ("bad schema", lambda: seal(_body(issuer=""), KEY), ErrorCode.INVALID_REQUEST),
    ("unknown key", lambda: signed(HmacSha256Key("nobody", b"n" * 32)), ErrorCode.UNKNOWN_KEY),
    ("bad signature", lambda: signed(HmacSha256Key(KEY.key_id, b"x" * 32)), ErrorCode.BAD_SIGNATURE),
    ("unsigned", lambda: unsigned_request(request()), ErrorCode.UNSIGNED_REFUSED),
    ("expired", lambda: signed(clock=FixedClock(NOW_MS - 3_600_000)), ErrorCode.EXPIRED),
    ("future", lambda: signed(clock=FixedClock(NOW_MS + 3_600_000)), ErrorCode.NOT_YET_VALID),
    ("lifetime", lambda: signed(lifetime_s=3600), ErrorCode.LIFETIME_TOO_LONG),
    ("wrong room", lambda: signed(room="other-room"), ErrorCode.WRONG_ROOM),
    ("wrong target", lambda: signed(target="agent-other"), ErrorCode.WRONG_TARGET),
    ("any agent", lambda: signed(target="*"), ErrorCode.NOT_AUTHORIZED),
]


@pytest.mark.parametrize(("name", "payload", "code"), REFUSALS, ids=[r[0] for r in REFUSALS])
async def test_every_verifier_refusal_is_an_rpc_error_and_never_a_shutdown(
    name: str, payload: Any, code: ErrorCode
) -> None:
    h = await make()
    err = await h.refused(payload(), code)
    expected = ShutdownRpcError(code, "x")
    assert json.loads(err.data or "") == {**json.loads(refusal_data(expected)), **json.loads(err.data or "")}
    no_shutdown_scheduled(h)
    assert h.remote.counters[code.name.lower()] == 1
    # the job still accepts a valid request afterwards, and shuts down exactly once for it
    ok = request()
    assert Acknowledgement.from_json(await h.call(signed_request(ok))).status is AckStatus.ACCEPTED
    await h.remote.shutdown_done.wait()
    assert len(h.ctx.shutdown_calls) == 1 and ok.request_id in h.ctx.shutdown_calls[0]


async def test_refusal_message_and_data_come_from_the_protocol_helpers() -> None:
    h = await make()
    err = await h.refused(signed(room="other-room"), ErrorCode.WRONG_ROOM)
    expected = ShutdownRpcError(ErrorCode.WRONG_ROOM, "request is for another room")
    assert (err.message, err.data) == (refusal_message(expected), refusal_data(expected))


async def test_target_by_job_id_is_accepted() -> None:
    h = await make()
    assert Acknowledgement.from_json(await h.call(signed(target=JOB))).status is AckStatus.ACCEPTED


async def test_any_agent_target_when_policy_allows() -> None:
    h = await make(AccessPolicy(allow_any_agent=True))
    assert Acknowledgement.from_json(await h.call(signed(target="*"))).status is AckStatus.ACCEPTED


async def test_duplicate_gets_the_original_ack_and_no_second_shutdown() -> None:
    h = await make()
    payload = signed()
    first = Acknowledgement.from_json(await h.call(payload))
    second = Acknowledgement.from_json(await h.call(payload, caller="someone-else"))
    assert first.status is AckStatus.ACCEPTED and second.status is AckStatus.DUPLICATE
    assert second.model_copy(update={"status": AckStatus.ACCEPTED}) == first
    await h.remote.shutdown_done.wait()
    assert len(h.ctx.shutdown_calls) == 1
    assert h.remote.counters["duplicate"] == 1


async def test_request_id_reused_for_other_content_is_a_conflict() -> None:
    h = await make()
    first = request()
    await h.call(signed_request(first))
    other = request(request_id=first.request_id, reason="something else")
    await h.refused(signed_request(other), ErrorCode.REQUEST_ID_CONFLICT)


async def test_another_request_while_shutting_down_is_acked_already_shutting_down() -> None:
    h = await make()
    first, second = request(reason="first"), request(reason="second", issuer="ops")
    assert Acknowledgement.from_json(await h.call(signed_request(first))).status is AckStatus.ACCEPTED
    ack2 = Acknowledgement.from_json(await h.call(signed_request(second, OTHER_KEY)))
    assert ack2.status is AckStatus.ALREADY_SHUTTING_DOWN and ack2.request_id == second.request_id
    # that answer is remembered too, and a repeat never claims the second reason was delivered (spec §8)
    repeat = Acknowledgement.from_json(await h.call(signed_request(second, OTHER_KEY)))
    assert repeat.status is AckStatus.ALREADY_SHUTTING_DOWN and repeat.agent_time_ms == ack2.agent_time_ms
    await h.remote.shutdown_done.wait()
    assert h.ctx.shutdown_calls == [f"remote shutdown by backend [{first.request_id}]: first"]
    assert h.remote.accepted is not None and h.remote.accepted.request_id == first.request_id


async def _fifty(h: Harness, payload: str) -> list[Any]:
    return await asyncio.gather(*(h.call(payload, caller=f"c{i}") for i in range(50)), return_exceptions=True)


async def test_fifty_concurrent_copies_one_shutdown_fifty_answers() -> None:
    h = await make()
    replies = await _fifty(h, signed())
    statuses = [Acknowledgement.from_json(r).status for r in replies]
    assert statuses.count(AckStatus.ACCEPTED) == 1 and statuses.count(AckStatus.DUPLICATE) == 49
    await h.remote.shutdown_done.wait()
    assert len(h.ctx.shutdown_calls) == 1


async def start_copies(h: Harness, payload: str, n: int) -> list[asyncio.Task[str]]:
    """Start ``n`` calls and return once every one of them has run up to its first suspension."""
    handler = h.ctx.room.local_participant.methods[METHOD_NAME]
    started = 0
    all_started = asyncio.Event()

    async def one(i: int) -> str:
        nonlocal started
        coro = handler(invocation(payload, caller=f"c{i}"))
        started += 1
        if started == n:
            all_started.set()
        return str(await coro)  # runs synchronously up to the veto / the first copy's outcome

    tasks = [asyncio.create_task(one(i)) for i in range(n)]
    await all_started.wait()  # the last task set it and then ran on to its own suspension before we resume
    return tasks


async def test_fifty_concurrent_copies_while_an_async_veto_is_pending() -> None:
    gate = asyncio.Event()
    veto_calls: list[str] = []

    async def veto(req: RemoteRequest) -> str | None:
        veto_calls.append(req.request_id)
        await gate.wait()
        return None

    h = await make(AccessPolicy(veto=veto))
    tasks = await start_copies(h, signed(), 50)
    assert not any(t.done() for t in tasks)
    assert h.ctx.shutdown_calls == [] and len(veto_calls) == 1
    gate.set()
    replies = await asyncio.gather(*tasks)
    statuses = [Acknowledgement.from_json(r).status for r in replies]
    assert statuses.count(AckStatus.ACCEPTED) == 1 and statuses.count(AckStatus.DUPLICATE) == 49
    await h.remote.shutdown_done.wait()
    assert len(h.ctx.shutdown_calls) == 1 and len(veto_calls) == 1


async def test_a_full_replay_memory_refuses_before_the_veto_and_pending_requests_count() -> None:
    gate = asyncio.Event()
    veto_calls: list[str] = []
    first = request()

    async def veto(req: RemoteRequest) -> str | None:
        veto_calls.append(req.request_id)
        if req.request_id == first.request_id:  # only the first one waits: a regression fails, never hangs
            await gate.wait()
        return None

    h = await make(AccessPolicy(veto=veto), replay=ReplayCache(max_entries=1))
    tasks = await start_copies(h, signed_request(first), 1)  # its veto is pending: its id takes the only room
    await h.refused(signed(), ErrorCode.RATE_LIMITED)
    assert veto_calls == [first.request_id]  # the refused request never reached the veto
    gate.set()
    assert Acknowledgement.from_json(await tasks[0]).status is AckStatus.ACCEPTED
    assert (
        Acknowledgement.from_json(await h.call(signed_request(first))).status is AckStatus.DUPLICATE
    )  # repeats still answered
    await h.refused(signed(), ErrorCode.RATE_LIMITED)  # full of a live entry, never evicted
    await h.remote.shutdown_done.wait()
    assert len(h.ctx.shutdown_calls) == 1 and veto_calls == [first.request_id]
    assert h.remote.counters["accepted"] == 1
    later = (first.expires_at + 30) * 1000  # the first request can no longer verify: its room is free again
    h.clock.set(later)
    reply = await h.call(signed(clock=FixedClock(later)))
    assert Acknowledgement.from_json(reply).status is AckStatus.ALREADY_SHUTTING_DOWN


async def test_concurrent_copies_share_a_veto_refusal() -> None:
    gate = asyncio.Event()
    veto_calls = 0

    async def veto(req: RemoteRequest) -> str | None:
        nonlocal veto_calls
        veto_calls += 1
        await gate.wait()
        return "call in progress"

    h = await make(AccessPolicy(veto=veto))
    tasks = await start_copies(h, signed(), 10)
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, rtc.RpcError) and r.code == ErrorCode.VETOED for r in results)
    assert all("call in progress" in r.message for r in results if isinstance(r, rtc.RpcError))
    assert veto_calls == 1
    no_shutdown_scheduled(h)


async def test_copy_with_same_id_but_other_content_while_in_flight_is_a_conflict() -> None:
    gate = asyncio.Event()

    async def veto(req: RemoteRequest) -> str | None:
        await gate.wait()
        return None

    h = await make(AccessPolicy(veto=veto))
    first = request()
    tasks = await start_copies(h, signed_request(first), 1)
    await h.refused(signed_request(request(request_id=first.request_id, reason="other")), ErrorCode.REQUEST_ID_CONFLICT)
    gate.set()
    assert Acknowledgement.from_json(await tasks[0]).status is AckStatus.ACCEPTED


async def test_sync_veto_refuses_and_a_later_retry_can_succeed() -> None:
    busy = True

    def veto(req: RemoteRequest) -> str | None:
        return "speaking to a customer" if busy else None

    h = await make(AccessPolicy(veto=veto))
    payload = signed()
    err = await h.refused(payload, ErrorCode.VETOED)
    assert "speaking to a customer" in err.message
    no_shutdown_scheduled(h)
    busy = False
    assert Acknowledgement.from_json(await h.call(payload)).status is AckStatus.ACCEPTED


async def test_veto_raising_is_internal_error_and_no_shutdown(caplog: pytest.LogCaptureFixture) -> None:
    def veto(req: RemoteRequest) -> str | None:
        raise RuntimeError("boom")

    h = await make(AccessPolicy(veto=veto))
    await h.refused(signed(), ErrorCode.INTERNAL_ERROR)
    no_shutdown_scheduled(h)
    assert any("boom" in (r.exc_text or "") or r.exc_info for r in caplog.records)


async def test_failed_attempts_are_rate_limited_per_caller() -> None:
    now = [0.0]
    h = await make(AccessPolicy(rate_limit=RateLimit(burst=3, refill_per_s=1.0)))
    h.remote._decider.limiter._now = lambda: now[0]  # deterministic refill
    for _ in range(3):
        await h.refused(signed(room="nope"), ErrorCode.WRONG_ROOM, caller="mallory")
    # even a valid request from that caller is refused now, without being looked at
    await h.refused(signed(), ErrorCode.RATE_LIMITED, caller="mallory")
    await h.refused(signed(room="nope"), ErrorCode.WRONG_ROOM, caller="alice")  # others are unaffected
    no_shutdown_scheduled(h)
    now[0] += 1.0  # one token back
    assert Acknowledgement.from_json(await h.call(signed(), caller="mallory")).status is AckStatus.ACCEPTED
    assert h.remote.counters["rate_limited"] == 1


async def test_key_scopes_limit_issuers_targets_and_delete_room() -> None:
    scopes = {
        KEY.key_id: KeyScope(
            issuers=frozenset({"backend", "cron-*"}), targets=frozenset({"agent-*"}), delete_room=False
        )
    }
    h = await make(AccessPolicy(key_scopes=scopes, allow_any_agent=True))
    await h.refused(signed(issuer="intruder"), ErrorCode.NOT_AUTHORIZED)
    await h.refused(signed(target="*"), ErrorCode.NOT_AUTHORIZED)
    await h.refused(signed(target=JOB), ErrorCode.NOT_AUTHORIZED)
    await h.refused(signed(options=opts(delete_room=True)), ErrorCode.NOT_AUTHORIZED)
    no_shutdown_scheduled(h)
    # the unscoped key may do all of it
    assert Acknowledgement.from_json(await h.call(signed(OTHER_KEY, target="*"))).status is AckStatus.ACCEPTED


async def test_key_scope_allows_matching_issuer() -> None:
    scopes = {KEY.key_id: KeyScope(issuers=frozenset({"cron-*"}))}
    h = await make(AccessPolicy(key_scopes=scopes))
    assert Acknowledgement.from_json(await h.call(signed(issuer="cron-nightly"))).status is AckStatus.ACCEPTED


async def test_agent_may_refuse_delete_room_altogether() -> None:
    h = await make(AccessPolicy(allow_delete_room=False))
    await h.refused(signed(options=opts(delete_room=True)), ErrorCode.NOT_AUTHORIZED)


async def test_unsigned_requests_from_matching_participants_only() -> None:
    rule = UnsignedCallers(
        identities=frozenset({"operator-*"}),
        kinds=frozenset({rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD}),
        attributes={"role": "operator"},
    )
    h = await make(AccessPolicy(unsigned=rule))
    rp = h.ctx.room.remote_participants
    rp["operator-1"] = FakeParticipant("operator-1", attributes={"role": "operator"})
    rp["operator-2"] = FakeParticipant("operator-2", attributes={"role": "viewer"})
    rp["operator-3"] = FakeParticipant("operator-3", rtc.ParticipantKind.PARTICIPANT_KIND_AGENT, {"role": "operator"})
    rp["guest"] = FakeParticipant("guest", attributes={"role": "operator"})
    payload = unsigned_request(request(reason="ended by operator"))
    for caller in ("operator-2", "operator-3", "guest", "server-rpc-caller-not-in-room"):
        await h.refused(payload, ErrorCode.UNSIGNED_REFUSED, caller=caller)
    await h.refused(unsigned_request(request(options=opts(delete_room=True))), ErrorCode.NOT_AUTHORIZED, "operator-1")
    no_shutdown_scheduled(h)
    ack = Acknowledgement.from_json(await h.call(payload, caller="operator-1"))
    assert ack.status is AckStatus.ACCEPTED
    await h.remote.shutdown_done.wait()
    assert h.remote.accepted is not None and h.remote.accepted.key_id is None
    assert h.ctx.shutdown_calls[0].endswith(": ended by operator")


def test_unsigned_rule_needs_a_criterion() -> None:
    with pytest.raises(ValueError):
        UnsignedCallers()


async def test_unsigned_only_agent_needs_no_key() -> None:
    h = await make(AccessPolicy(unsigned=UnsignedCallers(identities=frozenset({"op"}))), keys=[])
    h.ctx.room.remote_participants["op"] = FakeParticipant("op")
    assert (
        Acknowledgement.from_json(await h.call(unsigned_request(request()), caller="op")).status is AckStatus.ACCEPTED
    )


async def test_delete_room_runs_from_the_shutdown_callback_after_the_agent_left() -> None:
    h = await make()
    await h.call(signed(options=opts(delete_room=True)))
    await h.remote.shutdown_done.wait()
    assert h.ctx.deleted_rooms == []  # not before the job's own teardown
    await h.ctx.run_shutdown_callbacks(h.ctx.shutdown_calls[0])
    assert h.ctx.deleted_rooms == [ROOM]


async def test_no_delete_room_unless_asked() -> None:
    h = await make()
    await h.call(signed())
    await h.remote.shutdown_done.wait()
    await h.ctx.run_shutdown_callbacks(h.ctx.shutdown_calls[0])
    assert h.ctx.deleted_rooms == []


async def test_on_accepted_hook_runs_once_after_the_reply() -> None:
    seen: list[tuple[str, int]] = []
    holder: list[Harness] = []

    async def on_accepted(req: RemoteRequest) -> None:
        seen.append((req.request_id, holder[0].ctx.replies))

    h = await make(timings=EndingTimings(reply_flush_delay_s=0, on_accepted=on_accepted))
    holder.append(h)
    req = request()
    await h.call(signed_request(req))
    await h.call(signed_request(req))
    await h.remote.shutdown_done.wait()
    assert len(seen) == 1 and seen[0][0] == req.request_id
    assert seen[0][1] >= 1  # the acknowledgement had been returned before the hook ran


async def test_on_accepted_failure_does_not_prevent_the_shutdown() -> None:
    def on_accepted(req: RemoteRequest) -> None:
        raise RuntimeError("hook failed")

    h = await make(timings=EndingTimings(reply_flush_delay_s=0, on_accepted=on_accepted))
    await h.call(signed())
    await h.remote.shutdown_done.wait()
    assert len(h.ctx.shutdown_calls) == 1


async def test_logs_carry_ids_but_never_payload_or_signature(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="shutdown_rpc")
    h = await make()
    good, bad = signed(), signed(room="other")
    await h.call(good)
    for _ in range(REPLY_TURNS + 2):  # an answer's record comes once the reply (and the silence) went out
        await asyncio.sleep(0)
    with pytest.raises(rtc.RpcError):
        await h.call(bad)
    records = [r for r in caplog.records if r.name == "shutdown_rpc"]
    outcomes = [getattr(r, "shutdown_rpc_outcome", None) for r in records]
    assert "accepted" in outcomes and "wrong_room" in outcomes
    for r in records:
        text = r.getMessage() + json.dumps({k: str(v) for k, v in vars(r).items()})
        assert good not in text and bad not in text and KEY.secret.decode() not in text


async def test_an_answer_is_logged_after_its_reply_went_out(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="shutdown_rpc")
    h = await make()

    def logged() -> list[object]:
        return [getattr(r, "shutdown_rpc_outcome", None) for r in caplog.records if r.name == "shutdown_rpc"]

    await h.call(signed())
    assert "accepted" not in logged()  # not on the acknowledgement's way: livekit-rtc sends it REPLY_TURNS later
    for _ in range(REPLY_TURNS + 2):
        await asyncio.sleep(0)
    assert "accepted" in logged()


async def test_counters_expose_every_outcome() -> None:
    h = await make()
    snapshot = h.remote.counters.snapshot()
    assert {"accepted", "duplicate", "already_shutting_down"} <= snapshot.keys()
    assert {c.name.lower() for c in ErrorCode} <= snapshot.keys()
    assert set(snapshot.values()) == {0}


async def _assert_already_shutting_down_and_no_second_shutdown(h: Harness, shutdown_calls: list[str]) -> None:
    """A valid request (delete_room asked) once the job is ending for another cause: spec §8."""
    req = request(options=opts(delete_room=True))
    ack = Acknowledgement.from_json(await h.call(signed_request(req)))
    assert ack.status is AckStatus.ALREADY_SHUTTING_DOWN and ack.request_id == req.request_id
    repeat = Acknowledgement.from_json(await h.call(signed_request(req)))  # remembered like any answer
    assert repeat.status is AckStatus.ALREADY_SHUTTING_DOWN and repeat.agent_time_ms == ack.agent_time_ms
    assert h.remote.accepted is None and not h.remote.shutdown_done.is_set()
    await h.remote.wait_closed()  # nothing was started
    assert h.ctx.shutdown_calls == shutdown_calls
    await h.ctx.run_shutdown_callbacks(shutdown_calls[0] if shutdown_calls else "room disconnected")
    assert h.ctx.deleted_rooms == []
    assert h.remote.counters["already_shutting_down"] == 2 and h.remote.counters["accepted"] == 0


async def test_request_after_the_application_called_ctx_shutdown_is_already_shutting_down() -> None:
    h = await make()
    h.ctx.shutdown("room disconnected")
    assert h.remote.job_ending == "room disconnected"
    await _assert_already_shutting_down_and_no_second_shutdown(h, ["room disconnected"])


async def test_request_after_the_room_disconnected_is_already_shutting_down() -> None:
    h = await make()
    h.ctx.room.disconnect_from_server()
    assert h.remote.job_ending == "room disconnected"
    await _assert_already_shutting_down_and_no_second_shutdown(h, [])


async def test_request_after_the_shutdown_callbacks_ran_is_already_shutting_down() -> None:
    h = await make()
    await h.ctx.run_shutdown_callbacks("parent process shutdown")
    assert h.remote.job_ending == "parent process shutdown"
    await _assert_already_shutting_down_and_no_second_shutdown(h, [])


async def test_job_ending_while_a_veto_is_pending_is_already_shutting_down() -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def veto(_: RemoteRequest) -> None:
        started.set()
        await release.wait()

    h = await make(AccessPolicy(veto=veto))
    call = asyncio.ensure_future(h.call(signed(options=opts(delete_room=True))))
    await started.wait()
    h.ctx.shutdown("user requested")
    release.set()
    assert Acknowledgement.from_json(await call).status is AckStatus.ALREADY_SHUTTING_DOWN
    assert h.remote.accepted is None and h.ctx.shutdown_calls == ["user requested"]


async def test_wrapped_ctx_shutdown_still_reaches_the_job_and_keeps_the_first_cause() -> None:
    h = await make()
    h.ctx.shutdown(reason="simulation completed")
    h.ctx.room.disconnect_from_server()
    assert h.ctx.shutdown_calls == ["simulation completed"]
    assert h.remote.job_ending == "simulation completed"


async def test_an_accepted_request_still_ends_the_job_with_its_reason() -> None:
    h = await make()
    req = request(options=opts(delete_room=True))
    assert Acknowledgement.from_json(await h.call(signed_request(req))).status is AckStatus.ACCEPTED
    await h.remote.shutdown_done.wait()
    assert len(h.ctx.shutdown_calls) == 1 and parse_reason(h.ctx.shutdown_calls[0]) is not None
    await h.ctx.run_shutdown_callbacks(h.ctx.shutdown_calls[0])
    assert h.ctx.deleted_rooms == [ROOM]
