"""UnsignedCallers(attributes=...) matches attributes a participant may have set on itself: pinned and documented."""

from __future__ import annotations

import inspect
import warnings

import pytest
from livekit import rtc

from shutdown_rpc.agent_side import RateLimit, UnsignedCallers
from shutdown_rpc.agent_side._policy import SelfSetAttributesWarning
from tests.agent_side.fakes import FakeParticipant

FLOOD = RateLimit(all_callers_burst=5, all_callers_refill_per_s=1e-6)


def test_attribute_rule_admits_whoever_carries_the_attribute_however_it_was_set() -> None:
    with pytest.warns(SelfSetAttributesWarning):
        rule = UnsignedCallers(attributes={"role": "admin"})
    # nothing tells a token-set attribute from one the participant wrote itself (canUpdateOwnMetadata)
    assert rule.allows(FakeParticipant("anyone", attributes={"role": "admin"}))
    combined = UnsignedCallers(
        attributes={"role": "admin"}, kinds=frozenset({rtc.ParticipantKind.PARTICIPANT_KIND_AGENT})
    )
    assert not combined.allows(FakeParticipant("anyone", attributes={"role": "admin"}))


def test_docstring_warns_that_attributes_can_be_self_set() -> None:
    doc = inspect.getdoc(UnsignedCallers) or ""
    assert "canUpdateOwnMetadata" in doc and "set_attributes" in doc
    assert "NOT an authorization on its own" in doc


def test_scope_entries_match_literally_except_star() -> None:
    from shutdown_rpc.agent_side._policy import scope_matches

    assert scope_matches("cron-*", "cron-") and scope_matches("cron-*", "cron-daily")
    assert scope_matches("*", "*") and scope_matches("*", "") and scope_matches("a*b*c", "a-b-c")
    assert scope_matches("ops[1]", "ops[1]") and not scope_matches("ops[1]", "ops1")
    assert scope_matches("op?", "op?") and not scope_matches("op?", "ops")
    assert not scope_matches("cron-*", "xcron-1") and not scope_matches("a.b", "aXb")
    assert scope_matches("line*", "line\nbreak")  # * crosses any character, newlines included


def test_an_attributes_only_unsigned_rule_warns_loudly_when_configured(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.warns(SelfSetAttributesWarning, match="sets these attributes on itself") as warned:
        UnsignedCallers(attributes={"role": "admin"})
    assert warned[0].filename == __file__  # points at the configuring line
    assert any("canUpdateOwnMetadata" in r.getMessage() for r in caplog.records)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        UnsignedCallers(attributes={"role": "admin"}, identities=frozenset({"ops-*"}))
        UnsignedCallers(attributes={"role": "admin"}, kinds=frozenset({4}))


def test_unsigned_identities_match_literally_unless_star_asks_for_a_pattern() -> None:
    rule = UnsignedCallers(identities=frozenset({"ops[1]", "cron-?", "svc-*"}))
    assert rule.allows(FakeParticipant("ops[1]")) and not rule.allows(FakeParticipant("ops1"))
    assert rule.allows(FakeParticipant("cron-?")) and not rule.allows(FakeParticipant("cron-a"))
    assert rule.allows(FakeParticipant("svc-")) and rule.allows(FakeParticipant("svc-billing"))
    assert not rule.allows(FakeParticipant("xsvc-1")) and not rule.allows(None)
