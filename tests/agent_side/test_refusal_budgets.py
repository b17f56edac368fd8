"""Issue 23 #6 and #10: which refusals draw on the refused-attempt budgets (spec §7 step 15), and that floods
of RATE_LIMITED answers are not logged per attempt (per caller as across all callers), the all-callers flood's
end only once its budget has really recovered."""

from __future__ import annotations

import logging

import pytest

from shutdown_rpc.agent_side import AccessPolicy, KeyScope, RateLimit, RemoteRequest
from shutdown_rpc.protocol import Acknowledgement, AckStatus, ErrorCode
from shutdown_rpc.protocol.wire import ReplayCache
from tests.agent_side.fakes import KEY, OTHER_KEY, signed
from tests.agent_side.test_handler import Harness, make

NEVER_REFILLS = 1e-6


def records(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("shutdown_rpc") and text in r.getMessage()]


def frozen_budgets(h: Harness) -> list[float]:
    """Both budgets' clocks, frozen until the test moves them (``now[0] += ...``)."""
    now = [1000.0]
    h.remote._decider.limiter._now = lambda: now[0]
    h.remote._decider.all_callers._now = lambda: now[0]
    return now


async def test_a_veto_draws_on_neither_budget() -> None:
    def busy(_: RemoteRequest) -> str:
        return "speaking to a customer"

    limits = RateLimit(burst=2, refill_per_s=NEVER_REFILLS, all_callers_burst=2, all_callers_refill_per_s=NEVER_REFILLS)
    h = await make(AccessPolicy(veto=busy, rate_limit=limits))
    for _ in range(5):  # a backend retrying a vetoed request (VETOED: "yes, later") is never rate limited for it
        await h.refused(signed(), ErrorCode.VETOED, caller="backend")
    # nor did the vetoes spend the all-callers budget: an invalid attempt still gets its own code
    await h.refused(signed(room="other-room"), ErrorCode.WRONG_ROOM, caller="someone")


async def test_over_budget_a_key_scope_refusal_is_rate_limited_and_a_veto_keeps_its_code() -> None:
    def busy(request: RemoteRequest) -> str | None:
        return "busy" if request.issuer == "vetoed" else None

    scopes = {KEY.key_id: KeyScope(issuers=frozenset({"backend", "vetoed"}))}
    limits = RateLimit(all_callers_burst=2, all_callers_refill_per_s=NEVER_REFILLS)
    h = await make(AccessPolicy(veto=busy, key_scopes=scopes, rate_limit=limits))
    for n in range(2):
        await h.refused(signed(room="other-room"), ErrorCode.WRONG_ROOM, caller=f"PA_{n}")
    await h.refused(signed(issuer="intruder"), ErrorCode.RATE_LIMITED, caller="PB")  # NOT_AUTHORIZED (key scope)
    await h.refused(signed(issuer="vetoed"), ErrorCode.VETOED, caller="PC")
    assert Acknowledgement.from_json(await h.call(signed(OTHER_KEY), caller="PD")).status is AckStatus.ACCEPTED


async def test_a_full_replay_memory_draws_on_neither_budget() -> None:
    limits = RateLimit(burst=1, refill_per_s=NEVER_REFILLS, all_callers_burst=1, all_callers_refill_per_s=NEVER_REFILLS)
    h = await make(AccessPolicy(rate_limit=limits), replay=ReplayCache(max_entries=1))
    assert Acknowledgement.from_json(await h.call(signed(), caller="backend")).status is AckStatus.ACCEPTED
    for _ in range(3):  # memory full of a live entry: RATE_LIMITED, which is not the caller's doing
        await h.refused(signed(), ErrorCode.RATE_LIMITED, caller="backend")
    await h.refused(signed(room="other-room"), ErrorCode.WRONG_ROOM, caller="backend")


async def test_refusals_answered_rate_limited_over_budget_keep_it_spent() -> None:
    h = await make(AccessPolicy(rate_limit=RateLimit(all_callers_burst=2)))
    now = frozen_budgets(h)
    for n in range(2):
        await h.refused(signed(room="other-room"), ErrorCode.WRONG_ROOM, caller=f"PA_{n}")
    for n in range(10):  # 20/s refill, one refusal every 10 ms: the flood outpaces the refill
        now[0] += 0.01
        await h.refused(signed(room="other-room"), ErrorCode.RATE_LIMITED, caller=f"PB_{n}")


async def test_a_caller_over_its_limit_is_logged_once_not_per_attempt(caplog: pytest.LogCaptureFixture) -> None:
    h = await make(AccessPolicy(rate_limit=RateLimit(burst=2, refill_per_s=1.0)))
    now = frozen_budgets(h)
    with caplog.at_level(logging.DEBUG, logger="shutdown_rpc"):
        for _ in range(2):
            await h.refused(signed(room="other-room"), ErrorCode.WRONG_ROOM, caller="mallory")
        for _ in range(300):
            await h.refused(signed(room="other-room"), ErrorCode.RATE_LIMITED, caller="mallory")
        now[0] += 1.0  # one token back
        assert Acknowledgement.from_json(await h.call(signed(), caller="mallory")).status is AckStatus.ACCEPTED
    assert len(records(caplog, "refused (")) == 2  # the two refusals within the limit, nothing per attempt
    assert len(records(caplog, "over its refusal budget")) == 1
    warnings = [r for r in caplog.records if r.name.startswith("shutdown_rpc") and r.levelno >= logging.WARNING]
    assert len(warnings) == 3  # 302 refused attempts, 3 records
    assert h.remote.counters["rate_limited"] == 300  # every attempt still counted for metrics


async def test_the_all_callers_recovered_record_waits_until_the_budget_has_really_recovered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def busy(_: RemoteRequest) -> str:
        return "busy"

    limits = RateLimit(all_callers_burst=2, all_callers_refill_per_s=1.0)
    h = await make(AccessPolicy(veto=busy, rate_limit=limits))
    now = frozen_budgets(h)
    with caplog.at_level(logging.DEBUG, logger="shutdown_rpc"):
        for n in range(2):
            await h.refused(signed(room="other-room"), ErrorCode.WRONG_ROOM, caller=f"PA_{n}")
        for n in range(7):
            await h.refused("not base64!", ErrorCode.RATE_LIMITED, caller=f"PB_{n}")
        # refusals that are not over-budget answers, while the budget is still spent: no "recovered" yet
        await h.refused(signed(), ErrorCode.VETOED, caller="PC")
        assert records(caplog, "budget recovered") == []
        await h.refused("not base64!", ErrorCode.RATE_LIMITED, caller="PD")
        now[0] += 5.0  # the budget is full again
        await h.refused(signed(room="other-room"), ErrorCode.WRONG_ROOM, caller="PE")
    assert len(records(caplog, "too many refused attempts from all callers")) == 1
    (summary,) = records(caplog, "budget recovered")
    assert summary.__dict__["unlogged_refusals"] >= 8
