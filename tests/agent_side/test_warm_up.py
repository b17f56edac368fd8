"""The accepting path's warm-up at enable time: it runs the path, and leaves the job's state as it was."""

from __future__ import annotations

import logging

import pytest

from shutdown_rpc.agent_side import enable_remote_shutdown
from shutdown_rpc.agent_side._enable import Seams
from shutdown_rpc.agent_side._warm_up import warm_accepting_path
from shutdown_rpc.protocol import Acknowledgement, AckStatus, sign_request
from shutdown_rpc.protocol.wire import METHOD_NAME, FixedClock, ReplayCache
from tests.agent_side.fakes import KEY, NOW_MS, FakeCtx, invocation, request


class CountingClock(FixedClock):
    """A fixed clock that counts its reads: the warm-up reads it once it has built and verified a request."""

    def __init__(self, now_ms: int) -> None:
        super().__init__(now_ms)
        self.reads = 0

    def now_ms(self) -> int:
        self.reads += 1
        return super().now_ms()


def test_the_warm_up_runs_the_accepting_path() -> None:
    clock = CountingClock(NOW_MS)
    warm_accepting_path(clock)
    assert clock.reads >= 2  # building the request, then verifying it (a failure would stop before)


async def test_the_warm_up_leaves_the_jobs_memory_and_counters_untouched() -> None:
    ctx, replay = FakeCtx(), ReplayCache()
    seams = Seams(clock=FixedClock(NOW_MS), replay=replay)
    handler = await enable_remote_shutdown(ctx.as_job_context(), keys=[KEY], _testing=seams)
    assert len(replay) == 0
    assert sum(handler.counters.snapshot().values()) == 0
    req = request()
    reply = await ctx.room.local_participant.methods[METHOD_NAME](invocation(sign_request(req, KEY)))
    assert Acknowledgement.from_json(reply).status is AckStatus.ACCEPTED


def test_a_failing_warm_up_is_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    class BrokenClock(FixedClock):
        def now_ms(self) -> int:
            raise RuntimeError("clock broken")

    caplog.set_level(logging.DEBUG, logger="shutdown_rpc")
    warm_accepting_path(BrokenClock(NOW_MS))
    assert any("warm-up" in r.getMessage() for r in caplog.records)
