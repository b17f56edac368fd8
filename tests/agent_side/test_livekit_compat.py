"""agent_side/_livekit_compat.py: the version table, the one error outside it, and what is then left alone."""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
import logging
import re

import pytest
from livekit import rtc
from livekit.agents import JobContext
from livekit.agents.ipc import job_proc_lazy_main

from shutdown_rpc.agent_side import EndingTimings, enable_remote_shutdown
from shutdown_rpc.agent_side._deciding import ShutdownDecider
from shutdown_rpc.agent_side._enable import Seams
from shutdown_rpc.agent_side._handler import ShutdownHandler
from shutdown_rpc.agent_side._job_ender import JobEnder
from shutdown_rpc.agent_side._livekit_compat import (
    NO_PRIMARY_SESSION_LOG,
    SID_RESOLVED_AT_CONNECT,
    VERIFIED,
    VersionRange,
    _release,
    delete_room,
    internals_verified,
    primary_session,
    room_connected,
    wrap_ctx_shutdown,
)
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


# One test per patch of _livekit_compat: each checks, on the INSTALLED livekit-agents / livekit-rtc, what the patch
# assumes, so that a release that changes it fails here (the compatibility matrix runs these on every release it
# covers). The reply-turns patch has its own test driving rtc's RPC path: test_ending.py,
# test_reply_is_handed_to_livekit_before_the_silence_work_runs.


def test_ctx_shutdown_is_a_plain_method_an_instance_attribute_can_shadow() -> None:
    """wrap_ctx_shutdown: ``JobContext.shutdown(self, reason=...)`` is a method found through the instance."""
    assert inspect.isfunction(vars(JobContext)["shutdown"])
    assert list(inspect.signature(JobContext.shutdown).parameters) == ["self", "reason"]
    ctx = object.__new__(JobContext)
    seen: list[str] = []
    wrap_ctx_shutdown(ctx, seen.append)
    assert "shutdown" in vars(ctx) and ctx.shutdown.__wrapped__.__func__ is vars(JobContext)["shutdown"]  # type: ignore[attr-defined]


def test_the_job_teardown_disconnects_the_room_through_the_instance() -> None:
    """shadow_room_disconnect: the job process's teardown calls ``<ctx>.room.disconnect()`` by attribute, once,
    and a Room instance accepts an attribute of that name."""
    teardown = inspect.getsource(job_proc_lazy_main)
    assert len(re.findall(r"\._?room\.disconnect\(\)", teardown)) == 1
    assert inspect.iscoroutinefunction(vars(rtc.Room)["disconnect"])
    assert any("__dict__" in vars(cls) for cls in rtc.Room.__mro__)  # instances take attributes


def test_primary_session_is_a_property_that_raises_runtime_error_or_absent() -> None:
    """primary_session: where the release has it, a property raising RuntimeError while there is no session."""
    prop = vars(JobContext).get("primary_session")
    if prop is None:
        assert _release(importlib.metadata.version("livekit-agents")) < (1, 4)
        assert primary_session(object.__new__(JobContext)) is None
        return
    assert isinstance(prop, property) and "raise RuntimeError" in inspect.getsource(prop.fget)  # type: ignore[arg-type]


def test_delete_room_takes_the_room_name_or_deletes_the_jobs_own_room() -> None:
    """delete_room: ``ctx.delete_room(room_name=None)``, or (1.2) ``ctx.delete_room()`` deleting ``self._room``."""
    parameters = list(inspect.signature(JobContext.delete_room).parameters)
    if parameters == ["self"]:
        assert "room=self._room.name" in inspect.getsource(JobContext.delete_room)
    else:
        assert parameters == ["self", "room_name"]


def test_delete_room_calls_the_release_s_own_form() -> None:
    class OldCtx:
        def __init__(self) -> None:
            self.calls: list[tuple[str, ...]] = []

        def delete_room(self) -> None:
            self.calls.append(())

    class NewCtx(OldCtx):
        def delete_room(self, room_name: str | None = None) -> None:
            self.calls.append((room_name or "",))

    old, new = OldCtx(), NewCtx()
    delete_room(old, "room-1")  # type: ignore[arg-type]
    delete_room(new, "room-1")  # type: ignore[arg-type]
    assert (old.calls, new.calls) == ([()], [("room-1",)])


class ConnectingRoom:
    """isconnected() turns True once ``connect`` is called; ``sid`` resolves only when ``sid_future`` does."""

    def __init__(self) -> None:
        self.connected = False
        self.sid_future: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def isconnected(self) -> bool:
        return self.connected

    @property
    async def sid(self) -> str:
        return await self.sid_future


@pytest.mark.parametrize("rtc_version", ["1.0.23", "1.1.10", "9.0.0"])
async def test_room_connected_without_a_sid_at_connect_sees_the_connection(rtc_version: str) -> None:
    """room_connected on rtc releases whose sid never resolves at connect (and outside the table)."""
    room = ConnectingRoom()
    waiting = asyncio.ensure_future(room_connected(room, rtc_version))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert not waiting.done()
    room.connected = True  # no sid: it would hang on room.sid
    await asyncio.wait_for(waiting, 5)


async def test_room_connected_with_a_sid_at_connect_waits_for_it() -> None:
    room = ConnectingRoom()
    waiting = asyncio.ensure_future(room_connected(room, "1.2.1"))  # type: ignore[arg-type]
    room.connected = True
    await asyncio.sleep(0.1)  # more than two poll periods: the sid path does not poll
    assert not waiting.done()
    room.sid_future.set_result("RM_1")
    await asyncio.wait_for(waiting, 5)


def test_the_installed_rtc_resolves_the_sid_at_connect_if_the_table_says_so() -> None:
    """SID_RESOLVED_AT_CONNECT: those rtc releases resolve the first sid from the connect result too (through
    ``Room._resolve_first_sid``); the others only from a later ``room_sid_changed`` event."""
    in_table = importlib.metadata.version("livekit") in SID_RESOLVED_AT_CONNECT
    assert in_table == hasattr(rtc.Room, "_resolve_first_sid")


async def test_without_primary_session_and_no_session_one_error_says_what_is_lost(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shutdown_rpc.agent_side._enable.primary_session_supported", lambda ctx: False)
    with caplog.at_level(logging.ERROR, logger="shutdown_rpc"):
        await enable_remote_shutdown(FakeCtx().as_job_context(), keys=[KEY], _testing=Seams(clock=FixedClock(NOW_MS)))
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [NO_PRIMARY_SESSION_LOG]
