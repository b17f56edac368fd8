"""One receipt per answer that carried the token (spec §11 step 3): the same request from two callers (a backend
through PerformRpc, a participant in the room) is answered ``accepted`` and ``duplicate``, both with the token; the
agent leaves only once both receipts came, or its bound ran out. Fakes only; flags and orders, never timings."""

from __future__ import annotations

import asyncio
import secrets

from shutdown_rpc.agent_side import AccessPolicy, EndingTimings, RemoteRequest
from shutdown_rpc.protocol import Acknowledgement, AckStatus
from shutdown_rpc.protocol.wire import RECEIPT_METHOD_NAME, new_receipt_token
from tests.agent_side.fakes import invocation, request, signed
from tests.agent_side.test_ending import turns
from tests.agent_side.test_handler import Harness, make, signed_request, start_copies

LONG = EndingTimings(reply_flush_delay_s=10.0)  # a bound no test waits out: the receipts decide


async def receipt(h: Harness, payload: str) -> None:
    """A receipt as a PerformRpc caller sends it: from an identity of its own, never the request's."""
    caller = f"PR_{secrets.token_hex(4)}"
    assert await h.ctx.room.local_participant.methods[RECEIPT_METHOD_NAME](invocation(payload, caller)) == ""


async def accepted_and_duplicate(h: Harness, payload: str | None = None) -> str:
    """The same request from a backend and from a participant; returns the token both answers carried."""
    payload = payload or signed()
    first = Acknowledgement.from_json(await h.call(payload, caller="PR_backend"))
    second = Acknowledgement.from_json(await h.call(payload, caller="user"))
    assert (first.status, second.status) == (AckStatus.ACCEPTED, AckStatus.DUPLICATE)
    assert first.receipt is not None and second.receipt == first.receipt
    return first.receipt


async def last_receipt_ends_the_wait(h: Harness, token: str) -> None:
    """Still waiting (no shutdown, not confirmed) until this receipt, which makes the receipts even with the
    answers; with a bound no test waits out, ``receipt_received`` then shows that the receipts ended the wait."""
    await turns()
    assert h.ctx.shutdown_calls == [] and not h.remote.receipt_received.is_set()
    await receipt(h, token)
    await h.remote.shutdown_done.wait()
    assert h.remote.receipt_received.is_set() and len(h.ctx.shutdown_calls) == 1


async def test_one_receipt_for_two_answers_keeps_waiting_the_second_ends_the_wait() -> None:
    h = await make(timings=LONG)
    token = await accepted_and_duplicate(h)
    await receipt(h, token)
    # the duplicate's reply may still be in flight: leaving now could cut it off
    await last_receipt_ends_the_wait(h, token)


async def test_copies_answered_while_a_veto_runs_each_await_a_receipt() -> None:
    decided = asyncio.Event()

    async def veto(_: RemoteRequest) -> None:
        await decided.wait()

    h = await make(AccessPolicy(veto=veto), timings=LONG)
    tasks = await start_copies(h, signed(), 3)
    decided.set()
    answers = [Acknowledgement.from_json(r) for r in await asyncio.gather(*tasks)]
    assert sorted(a.status.value for a in answers) == ["accepted", "duplicate", "duplicate"]
    token = answers[0].receipt
    assert token is not None
    for _ in range(2):
        await receipt(h, token)
    await last_receipt_ends_the_wait(h, token)


async def test_a_receipt_without_the_token_never_counts() -> None:
    h = await make(timings=LONG)
    token = await accepted_and_duplicate(h)
    await receipt(h, token)
    accepted = h.remote.accepted
    assert accepted is not None
    for forged in (accepted.request_id, new_receipt_token(), token + "x", ""):
        await receipt(h, forged)
    await last_receipt_ends_the_wait(h, token)


async def test_already_shutting_down_awaits_no_receipt() -> None:
    h = await make(timings=LONG)
    first = Acknowledgement.from_json(await h.call(signed()))
    other = Acknowledgement.from_json(await h.call(signed_request(request()), caller="user"))
    assert other.status is AckStatus.ALREADY_SHUTTING_DOWN and first.receipt is not None
    await receipt(h, first.receipt)
    await h.remote.shutdown_done.wait()
    assert h.remote.receipt_received.is_set()


async def test_a_duplicate_after_the_receipts_ended_the_wait_changes_nothing() -> None:
    h = await make(timings=LONG)
    payload = signed()
    first = Acknowledgement.from_json(await h.call(payload))
    assert first.receipt is not None
    await receipt(h, first.receipt)
    await h.remote.shutdown_done.wait()
    late = Acknowledgement.from_json(await h.call(payload, caller="user"))
    assert late.status is AckStatus.DUPLICATE and late.receipt == first.receipt  # still answered with the token
    await receipt(h, first.receipt)
    await turns()
    assert h.remote.receipt_received.is_set() and len(h.ctx.shutdown_calls) == 1


async def test_after_the_bound_ran_out_late_duplicates_and_receipts_change_nothing() -> None:
    """A caller that retried after a lost reply holds one answer of two: the agent waits out its bound (here 0),
    and the wait, once over, is not reopened or marked as confirmed by what comes later."""
    h = await make()  # reply_flush_delay_s=0
    payload = signed()
    token = await accepted_and_duplicate(h, payload)
    await receipt(h, token)
    await h.remote.shutdown_done.wait()
    assert not h.remote.receipt_received.is_set()  # the bound, not the receipts, ended the wait
    late = Acknowledgement.from_json(await h.call(payload, caller="late"))
    assert late.status is AckStatus.DUPLICATE
    for _ in range(3):
        await receipt(h, token)
    await turns()
    assert not h.remote.receipt_received.is_set() and len(h.ctx.shutdown_calls) == 1
