"""After acceptance (spec §10, §11): silence first, the ``ending`` attributes, the caller's receipt ending the
reply-flush wait, and the job's dispatch deleted before ``ctx.shutdown``. Fakes only; orders, never timings."""

from __future__ import annotations

import asyncio
import json
import logging
from types import SimpleNamespace
from typing import Any, cast

import pytest
from livekit import rtc
from livekit.agents import AgentSession
from livekit.rtc._ffi_client import FfiClient

from shutdown_rpc.agent_side import EndingTimings, ShutdownHandler, enable_remote_shutdown
from shutdown_rpc.agent_side._enable import Seams
from shutdown_rpc.protocol import Acknowledgement, AckStatus
from shutdown_rpc.protocol.wire import (
    METHOD_NAME,
    RECEIPT_METHOD_NAME,
    FixedClock,
    ending_attributes,
    is_receipt_for,
    parse_ending,
)
from shutdown_rpc.protocol.wire import Ending as EndingAttrs
from tests.agent_side.fakes import KEY, NOW_MS, ROOM, FakeCtx, invocation, opts, request, signed
from tests.agent_side.test_parts import FakeSession

LONG = 10.0  # a flush bound no test waits out: the receipt (or nothing) decides


async def enable(ctx: FakeCtx, session: FakeSession | None = None, **timings: object) -> ShutdownHandler:
    return await enable_remote_shutdown(
        ctx.as_job_context(),
        keys=[KEY],
        timings=EndingTimings(**timings),  # type: ignore[arg-type]
        session=cast("AgentSession[Any]", session) if session is not None else None,
        _testing=Seams(clock=FixedClock(NOW_MS)),
    )


async def turns(n: int = 20) -> None:
    """Let the loop run ``n`` times (whatever was ready has run)."""
    for _ in range(n):
        await asyncio.sleep(0)


async def test_without_drain_the_agent_falls_silent_before_any_wait() -> None:
    ctx = FakeCtx()
    session = FakeSession(speaking=True)
    await enable(ctx, session, reply_flush_delay_s=LONG)
    await ctx.room.local_participant.methods[METHOD_NAME](invocation(signed(options=opts(drain=False))))
    await turns()
    # silent and deaf while the reply is still being given time (no shutdown yet)
    assert session.interrupted == [True]
    assert (session.input.audio_enabled, session.output.audio_enabled) == (False, False)
    assert session.drain_args == [False]
    assert ctx.shutdown_calls == []


class RecordingFfi:
    """Stands in for livekit-rtc's native client: records what the session had done when the reply was sent."""

    def __init__(self, session: FakeSession) -> None:
        self._session = session
        self.replies: list[tuple[str, list[bool]]] = []

    def request(self, req: Any) -> Any:
        response = req.rpc_method_invocation_response
        self.replies.append((response.payload, list(self._session.interrupted)))
        return SimpleNamespace(rpc_method_invocation_response=SimpleNamespace(error=""))


async def test_reply_is_handed_to_livekit_before_the_silence_work_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Through livekit-rtc's own incoming-call path (``LocalParticipant._handle_rpc_method_invocation``, run in a
    task of its own as the Room does; the handler awaited in the SDK's way, the reply handed to the native
    layer when that task resumes): silencing the session must not run between the handler's return and the
    reply, or the acknowledgement waits for it. Uses the installed SDK's private path on purpose: if its
    scheduling changes (the number of loop turns REPLY_TURNS counts), this fails rather than the ack silently
    slowing down. Only the native client is replaced."""
    ctx = FakeCtx()
    session = FakeSession(speaking=True)
    await enable(ctx, session, reply_flush_delay_s=LONG)
    ffi = RecordingFfi(session)
    monkeypatch.setattr(FfiClient, "_instance", ffi)
    sdk = object.__new__(rtc.LocalParticipant)
    sdk._ffi_handle = SimpleNamespace(handle=1)  # type: ignore[assignment]
    sdk._rpc_interceptors = []  # newer livekit-rtc only; harmless before
    sdk._rpc_handlers = {METHOD_NAME: ctx.room.local_participant.methods[METHOD_NAME]}
    payload = signed(options=opts(drain=False))
    call = sdk._handle_rpc_method_invocation(1, METHOD_NAME, "rpc-1", "backend-caller", payload, 10.0)
    await asyncio.get_running_loop().create_task(call)
    await turns()
    [(reply, interrupted_when_replied)] = ffi.replies
    assert json.loads(reply)["status"] == "accepted"
    assert interrupted_when_replied == []
    assert session.interrupted == [True]


async def test_only_the_acknowledgements_token_ends_the_flush_wait(caplog: pytest.LogCaptureFixture) -> None:
    ctx = FakeCtx()
    remote = await enable(ctx, reply_flush_delay_s=LONG)
    methods = ctx.room.local_participant.methods
    req = request()
    payload = signed(request_id=req.request_id)
    ack = Acknowledgement.from_json(await methods[METHOD_NAME](invocation(payload)))
    token = ack.receipt
    assert ack.status is AckStatus.ACCEPTED and token is not None and token != req.request_id
    again = Acknowledgement.from_json(await methods[METHOD_NAME](invocation(payload)))
    assert again.status is AckStatus.DUPLICATE and again.receipt == token  # a retrying caller can still send it
    await turns()
    assert token not in "".join(ctx.room.local_participant.attributes.values())
    with caplog.at_level(logging.DEBUG, logger="shutdown_rpc"):
        # the request id (published in the ending attributes), another token, garbage: answered, changed nothing
        for forged in (req.request_id, "A" * 22, token + "x", "", "x" * 5000):
            assert await methods[RECEIPT_METHOD_NAME](invocation(forged)) == ""
        await turns()
        assert ctx.shutdown_calls == [] and not remote.receipt_received.is_set()
        # two answers carried the token (accepted, duplicate): one receipt each (test_receipt_count.py)
        for _ in range(2):
            assert await methods[RECEIPT_METHOD_NAME](invocation(token)) == ""
        await remote.shutdown_done.wait()
    assert len(ctx.shutdown_calls) == 1 and remote.receipt_received.is_set()
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("shutdown_rpc")]
    assert [m for m in messages if "receipt" in m] == [
        "remote shutdown: 5 receipt(s) without the acknowledgement's token changed nothing"
    ]
    assert not any(token in m for m in messages)


async def test_receipt_before_any_acceptance_changes_nothing() -> None:
    ctx = FakeCtx()
    remote = await enable(ctx, reply_flush_delay_s=0)
    assert await ctx.room.local_participant.methods[RECEIPT_METHOD_NAME](invocation("B" * 22)) == ""
    assert remote.accepted is None and ctx.shutdown_calls == []


async def test_already_shutting_down_carries_no_token() -> None:
    ctx = FakeCtx()
    remote = await enable(ctx, reply_flush_delay_s=LONG)
    methods = ctx.room.local_participant.methods
    first = Acknowledgement.from_json(await methods[METHOD_NAME](invocation(signed())))
    second = Acknowledgement.from_json(await methods[METHOD_NAME](invocation(signed(request_id=request().request_id))))
    assert first.receipt is not None
    assert second.status is AckStatus.ALREADY_SHUTTING_DOWN and second.receipt_token is None
    assert await methods[RECEIPT_METHOD_NAME](invocation(first.receipt)) == ""
    await remote.shutdown_done.wait()
    assert remote.receipt_received.is_set()  # the one receipt sufficed: already_shutting_down awaits none


async def test_an_early_or_ill_formed_receipt_is_not_remembered_for_the_acceptance_that_follows() -> None:
    """Issue 23 #12 (spec §11): only a receipt that arrives after the acceptance and carries its token ends the
    wait; one sent before (a guess: no token exists yet), the request id, or an ill-formed payload change nothing."""
    ctx = FakeCtx()
    remote = await enable(ctx, reply_flush_delay_s=LONG)
    methods = ctx.room.local_participant.methods
    req = request()
    for early in (req.request_id, "A" * 22):
        assert await methods[RECEIPT_METHOD_NAME](invocation(early)) == ""  # before the request: forgotten
    ack = Acknowledgement.from_json(await methods[METHOD_NAME](invocation(signed(request_id=req.request_id))))
    token = ack.receipt_token
    assert token is not None
    for not_it in (req.request_id, token + " ", token.swapcase(), token * 200, ""):
        assert await methods[RECEIPT_METHOD_NAME](invocation(not_it)) == ""
    await turns()
    assert ctx.shutdown_calls == []  # still waiting for the receipt of the accepted request
    assert remote.counters.refused == 0  # receipts are never refusals
    assert await methods[RECEIPT_METHOD_NAME](invocation(token)) == ""
    await remote.shutdown_done.wait()
    assert len(ctx.shutdown_calls) == 1


async def test_ending_attributes_set_at_acceptance_reason_only_when_shown() -> None:
    for show, expected_reason in ((False, None), (True, "bye")):
        ctx = FakeCtx()
        remote = await enable(ctx, reply_flush_delay_s=0, show_reason=show)
        await ctx.room.local_participant.methods[METHOD_NAME](invocation(signed(reason="bye")))
        await remote.shutdown_done.wait()
        await turns()
        accepted = remote.accepted
        assert accepted is not None
        ending = parse_ending(ctx.room.local_participant.attributes)
        assert ending == EndingAttrs(accepted.request_id, accepted.issuer, expected_reason)


async def test_dispatch_deleted_before_shutdown_unless_disabled() -> None:
    for end_dispatch, expected in ((True, [("AD_fake", ROOM)]), (False, [])):
        ctx = FakeCtx()
        remote = await enable(ctx, reply_flush_delay_s=0, end_dispatch=end_dispatch)
        await ctx.room.local_participant.methods[METHOD_NAME](invocation(signed()))
        await remote.shutdown_done.wait()
        await turns()
        assert ctx.api.agent_dispatch.deleted == expected


async def test_dispatch_deleted_then_shutdown_then_the_agent_leaves_before_the_teardown_asks() -> None:
    ctx = FakeCtx()
    ctx.api.agent_dispatch.release.clear()  # the DeleteDispatch call is still in flight
    remote = await enable(ctx, reply_flush_delay_s=0)
    await ctx.room.local_participant.methods[METHOD_NAME](invocation(signed()))
    await turns()
    # the reason is set at once (the termination the deletion causes must find it set), but the leave may not
    # overtake the deletion (the job would be recorded as failed)
    await remote.shutdown_done.wait()
    assert len(ctx.shutdown_calls) == 1 and ctx.room.disconnects == 0
    ctx.api.agent_dispatch.release.set()
    await turns()
    assert ctx.api.agent_dispatch.deleted == [("AD_fake", ROOM)]
    assert ctx.room.disconnects == 1  # left without waiting for the job's teardown to disconnect
    await ctx.room.disconnect()  # what the job's teardown does next: joins the same leave
    assert ctx.room.disconnects == 1


async def test_a_hung_dispatch_deletion_delays_the_leave_by_its_bound_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("shutdown_rpc.agent_side._job_ender.END_DISPATCH_TIMEOUT_S", 0.01)
    ctx = FakeCtx()
    ctx.api.agent_dispatch.release.clear()  # never answers
    remote = await enable(ctx, reply_flush_delay_s=0)
    await ctx.room.local_participant.methods[METHOD_NAME](invocation(signed()))
    await remote.shutdown_done.wait()
    assert len(ctx.shutdown_calls) == 1
    await ctx.room.disconnect()  # the job's teardown: returns once the bounded wait is over and the agent left
    assert ctx.room.disconnects == 1


def test_receipt_and_attribute_helpers() -> None:
    rid = "AAAAAAAAAAAAAAAAAAAAAA"
    assert is_receipt_for(rid, rid)
    assert not is_receipt_for(rid + "x", rid)
    assert not is_receipt_for("A" * 65, "A" * 65)  # bounded before comparing
    assert not is_receipt_for("not a token", "not a token")
    attrs = ending_attributes(EndingAttrs(rid, "billing"))
    assert attrs == {"shutdown_rpc.state": "ending", "shutdown_rpc.request_id": rid, "shutdown_rpc.issuer": "billing"}
    assert parse_ending({}) is None and parse_ending({"shutdown_rpc.state": "listening"}) is None
