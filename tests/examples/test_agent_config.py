"""Issue 19: the example agent's configuration from the environment never ends a job: a bad value is named in
an ERROR and replaced by the default (the rule SHUTDOWN_RPC_KEYS follows too)."""

from __future__ import annotations

import logging

import pytest

from examples.agent import FLUSH_DELAY_ENV, flush_delay_from_env
from shutdown_rpc.agent_side import EndingTimings


@pytest.mark.parametrize("value", ["half a second", "-1", "11", "nan", "inf"])
def test_a_bad_flush_delay_is_named_and_the_default_used(
    value: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(FLUSH_DELAY_ENV, value)
    with caplog.at_level(logging.ERROR):
        assert flush_delay_from_env() == EndingTimings.reply_flush_delay_s
    (record,) = caplog.records
    assert FLUSH_DELAY_ENV in record.getMessage() and "using the default" in record.getMessage()


@pytest.mark.parametrize(("value", "expected"), [("", EndingTimings.reply_flush_delay_s), ("0", 0.0), ("1.5", 1.5)])
def test_a_good_or_unset_flush_delay_is_used(value: str, expected: float, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FLUSH_DELAY_ENV, value)
    assert flush_delay_from_env() == expected
