"""agent_side/_deciding.py (ShutdownDecider): refused attempts bounded across all callers (spec §7 step 15), and
the refusals it reports logged with peer-chosen strings escaped."""

from __future__ import annotations

import logging

import pytest

from shutdown_rpc.agent_side import AccessPolicy, RateLimit
from shutdown_rpc.protocol import Acknowledgement, AckStatus, ErrorCode, Verifier
from tests.agent_side.fakes import OTHER_KEY, signed
from tests.agent_side.test_handler import make, no_shutdown_scheduled

FLOOD = RateLimit(all_callers_burst=5, all_callers_refill_per_s=1e-6)


async def test_refusals_from_ever_new_callers_draw_rate_limited_yet_a_valid_request_is_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = await make(AccessPolicy(rate_limit=FLOOD))
    signature_checks = 0
    check_signature = Verifier._check_signature

    def counting(self: Verifier, *args: object) -> str | None:
        nonlocal signature_checks
        signature_checks += 1
        return check_signature(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Verifier, "_check_signature", counting)
    # PerformRpc callers: a fresh identity per call, so no per-caller bucket ever fills
    for n in range(5):
        await h.refused(signed(room="other-room"), ErrorCode.WRONG_ROOM, caller=f"PA_{n}")
    for n in range(5, 50):
        await h.refused(signed(room="other-room"), ErrorCode.RATE_LIMITED, caller=f"PA_{n}")
        await h.refused("not base64!", ErrorCode.RATE_LIMITED, caller=f"PB_{n}")
    no_shutdown_scheduled(h)
    # over budget, a payload is screened first: a wrong room never costs a signature check
    assert signature_checks == 5
    assert h.remote.counters["rate_limited"] == 90
    # a valid signed request in the middle of the flood is decided as usual
    ack = Acknowledgement.from_json(await h.call(signed(), caller="PA_valid"))
    assert ack.status is AckStatus.ACCEPTED
    await h.remote.shutdown_done.wait()
    assert len(h.ctx.shutdown_calls) == 1


async def test_a_flood_is_logged_when_it_starts_and_in_sum_when_it_ends(caplog: pytest.LogCaptureFixture) -> None:
    h = await make(AccessPolicy(rate_limit=RateLimit(all_callers_burst=5, all_callers_refill_per_s=1)))
    now = [1000.0]
    h.remote._decider.all_callers._now = lambda: now[0]
    with caplog.at_level(logging.DEBUG, logger="shutdown_rpc"):
        for n in range(5):
            await h.refused(signed(room="other-room"), ErrorCode.WRONG_ROOM, caller=f"PA_{n}")
        for n in range(40):
            await h.refused("not base64!", ErrorCode.RATE_LIMITED, caller=f"PB_{n}")
        now[0] += 60.0  # the budget refills
        await h.refused(signed(room="other-room"), ErrorCode.WRONG_ROOM, caller="PC")
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("shutdown_rpc")]
    assert sum("refused (" in m for m in messages) == 6  # one record per refusal only within the budget
    assert sum("too many refused attempts" in m for m in messages) == 1
    (summary,) = [r for r in caplog.records if "budget recovered" in r.getMessage()]
    assert summary.__dict__["unlogged_refusals"] == 40
    assert h.remote.counters["rate_limited"] == 40  # every attempt still counted for metrics


async def test_a_valid_request_is_accepted_while_over_budget_even_signed_with_the_other_key() -> None:
    h = await make(AccessPolicy(rate_limit=FLOOD))
    for n in range(5):
        await h.refused(signed(target="someone-else"), ErrorCode.WRONG_TARGET, caller=f"PA_{n}")
    forged = signed(reason="forged")
    forged = forged[:-4] + ("AAA=" if not forged.endswith("AAA=") else "BBB=")
    await h.refused(forged, ErrorCode.RATE_LIMITED, caller="PA_x")
    assert Acknowledgement.from_json(await h.call(signed(OTHER_KEY), caller="PA_y")).status is AckStatus.ACCEPTED


def test_rate_limit_refuses_a_non_positive_all_callers_budget() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimit(all_callers_burst=0)
    with pytest.raises(ValueError, match="positive"):
        RateLimit(all_callers_refill_per_s=0)


@pytest.mark.parametrize("evil", ["mallory\nINFO remote shutdown accepted", "m\r\x1b[2K", "m\u2028x", "m\x85x"])
async def test_a_caller_identity_cannot_forge_a_log_line(caplog: pytest.LogCaptureFixture, evil: str) -> None:
    h = await make()
    with caplog.at_level(logging.DEBUG, logger="shutdown_rpc"):
        await h.refused(signed(room="other-room"), ErrorCode.WRONG_ROOM, caller=evil)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("shutdown_rpc")]
    assert lines, "the refusal was not logged"
    for line in lines:
        assert line.isprintable(), repr(line)
    assert any("\\u" in line for line in lines)
    assert all(str(r.__dict__.get("caller_identity", "")).isprintable() for r in caplog.records)
