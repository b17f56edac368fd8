"""agent_side/_livekit_compat.py: the version table, the one error outside it, and what is then left alone."""

from __future__ import annotations

import logging

import pytest

from shutdown_rpc.agent_side import EndingTimings, enable_remote_shutdown
from shutdown_rpc.agent_side._deciding import ShutdownDecider
from shutdown_rpc.agent_side._enable import Seams
from shutdown_rpc.agent_side._handler import ShutdownHandler
from shutdown_rpc.agent_side._job_ender import JobEnder
from shutdown_rpc.agent_side._livekit_compat import VERIFIED, VersionRange, internals_verified
from shutdown_rpc.agent_side._policy import AccessPolicy
from shutdown_rpc.protocol import KeyRing, Verifier
from shutdown_rpc.protocol.wire import METHOD_NAME, FixedClock
from tests.agent_side.fakes import KEY, NOW_MS, FakeCtx, invocation, signed

OUTSIDE = {"livekit-agents": "9.0.0", "livekit": "1.1.21"}


def test_the_installed_livekit_is_within_the_verified_versions() -> None:
    # the e2e tests run on the installed versions: if this fails, run them on the new versions, then widen VERIFIED
    assert internals_verified()


def test_version_ranges_compare_releases() -> None:
    versions = VersionRange("1.8.9", "1.9.2")
    assert "1.8.9" in versions and "1.9.0rc1" in versions and "1.9.2+local" in versions
    assert "1.8.10" in versions and "1.8.8" not in versions and "1.10.0" not in versions
    assert None not in versions
    assert str(VersionRange("1.8.9", "1.8.9")) == "1.8.9"


def test_outside_the_table_one_error_names_the_versions_and_what_is_disabled(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="shutdown_rpc"):
        assert not internals_verified(OUTSIDE.get)
    (record,) = caplog.records
    message = record.getMessage()
    assert "livekit-agents 9.0.0" in message and f"livekit-agents {VERIFIED['livekit-agents']}" in message
    assert "disabled: wrapping ctx.shutdown" in message and "leaving the room right after ctx.shutdown" in message


def test_a_missing_distribution_counts_as_outside(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="shutdown_rpc"):
        assert not internals_verified(lambda name: None)
    assert "(not installed)" in caplog.records[0].getMessage()


async def test_outside_the_table_the_job_still_ends_without_the_patches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutdown_rpc.agent_side._enable.internals_verified", lambda: False)
    ctx = FakeCtx()
    handler = await enable_remote_shutdown(
        ctx.as_job_context(),
        keys=[KEY],
        timings=EndingTimings(reply_flush_delay_s=0),
        _testing=Seams(clock=FixedClock(NOW_MS)),
    )
    assert "shutdown" not in vars(ctx)  # ctx.shutdown is the job's own method, not wrapped
    await ctx.room.local_participant.methods[METHOD_NAME](invocation(signed()))
    await handler.shutdown_done.wait()
    await handler.wait_closed()
    assert len(ctx.shutdown_calls) == 1
    assert "disconnect" not in vars(ctx.room) and ctx.room.disconnects == 0  # left to the job's teardown


async def test_making_a_handler_changes_nothing_on_ctx() -> None:
    ctx = FakeCtx()
    before = (dict(vars(ctx)), dict(vars(ctx.room)), list(ctx.callbacks), dict(ctx.room.listeners))
    job = ctx.as_job_context()
    verifier = Verifier(KeyRing([KEY]), clock=FixedClock(NOW_MS))
    decider = ShutdownDecider(verifier, AccessPolicy(), clock=verifier.clock, participants=dict)
    ShutdownHandler(job, decider, JobEnder(job, EndingTimings(), shutdown=ctx.shutdown))
    assert (dict(vars(ctx)), dict(vars(ctx.room)), list(ctx.callbacks), dict(ctx.room.listeners)) == before
    assert ctx.room.local_participant.methods == {}
