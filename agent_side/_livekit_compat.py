"""Everything that leans on livekit-agents / livekit-rtc behaviour beyond their documented API, in one place.

Each piece below says what it relies on; :data:`VERIFIED` is the table of versions it was checked against
(extend a range there once the e2e tests pass on the new versions). :func:`internals_verified` runs when
``enable_remote_shutdown`` wires a job: outside the table it logs one error naming the installed versions and
what is disabled, and the two patches that replace attributes (:func:`wrap_ctx_shutdown`,
:func:`shadow_room_disconnect`) are not installed. The job still ends on request, only later and with less
insight: an application's own ``ctx.shutdown`` is noticed once the room disconnects, and the agent leaves the
room at the end of the job's teardown instead of right after ``ctx.shutdown``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.metadata
import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shutdown_rpc._log import logger

if TYPE_CHECKING:
    from livekit import rtc
    from livekit.agents import AgentSession, JobContext


@dataclass(frozen=True)
class VersionRange:
    """Releases from ``lowest`` to ``highest``, both included (pre-release and local parts are ignored)."""

    lowest: str
    highest: str

    def __contains__(self, version: object) -> bool:
        return isinstance(version, str) and _release(self.lowest) <= _release(version) <= _release(self.highest)

    def __str__(self) -> str:
        return self.lowest if self.lowest == self.highest else f"{self.lowest}..{self.highest}"


VERIFIED: dict[str, VersionRange] = {
    "livekit-agents": VersionRange("1.2.18", "1.8.9"),
    "livekit": VersionRange("1.1.8", "1.2.1"),  # livekit-rtc's distribution
}
"""Distribution -> the versions every piece of this module was checked against: the compatibility matrix
(noxfile.py; docs/compatibility.md) ran the agent-side unit tests and the real-server ``compat`` subset on the
last release of each minor from livekit-agents 1.2.18 to 1.8.9, each with the livekit (rtc) it pins or resolves.
All pass with livekit 1.1.8, 1.1.14, 1.1.15, 1.1.21 and 1.2.1; with 1.0.23 and 1.1.2 (pinned by livekit-agents
1.3.12 and 1.4.6) the reply to a duplicate copy can be lost when the agent leaves, so those are outside (and
livekit-agents 1.3.x / 1.4.x with them). Releases between those tested are taken as their minor's last."""

DISABLED_OUTSIDE = (
    "wrapping ctx.shutdown (an application's own ctx.shutdown is seen only once the room disconnects)",
    "leaving the room right after ctx.shutdown (the agent leaves at the end of the job's teardown)",
)


def _release(version: str) -> tuple[int, ...]:
    """``"1.8.9"`` -> (1, 8, 9); ``"1.9.0rc1"`` -> (1, 9, 0)."""
    parts = []
    for part in version.split("+")[0].split("."):
        digits = re.match(r"\d+", part)
        if digits is None:
            break
        parts.append(int(digits.group()))
    return tuple(parts)


def _installed(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def internals_verified(version_of: Callable[[str], str | None] = _installed) -> bool:
    """Whether the installed livekit packages are within :data:`VERIFIED`; if not, one ERROR record says which
    versions are installed and what is disabled (see the module docstring)."""
    installed = {name: version_of(name) for name in VERIFIED}
    outside = {name: version for name, version in installed.items() if version not in VERIFIED[name]}
    if not outside:
        return True
    logger.error(
        "remote shutdown: installed %s outside the versions it was verified with (%s); disabled: %s",
        ", ".join(f"{name} {version or '(not installed)'}" for name, version in outside.items()),
        ", ".join(f"{name} {versions}" for name, versions in VERIFIED.items()),
        "; ".join(DISABLED_OUTSIDE),
        extra={"installed_versions": installed},
    )
    return False


def wrap_ctx_shutdown(ctx: JobContext, before: Callable[[str], None]) -> None:
    """Make every ``ctx.shutdown(reason)`` call ``before(reason)`` first, then the original unchanged.

    livekit-agents 1.8.9's JobContext has no "shutting down" state or hook; an instance attribute shadows the
    method for every caller of ctx.shutdown (``get_job_context()`` included).
    """
    original: Callable[..., None] = ctx.shutdown

    @functools.wraps(original)
    def shutdown(reason: str = "user requested") -> None:
        before(reason)
        original(reason)

    setattr(ctx, "shutdown", shutdown)  # noqa: B010 (mypy refuses assigning to a method)


def shadow_room_disconnect(room: rtc.Room, leaving: asyncio.Task[None]) -> None:
    """Make the job teardown's own ``room.disconnect()`` wait for ``leaving`` (our early leave, which never
    raises) instead of starting a second one.

    livekit-agents 1.8.9 disconnects the job's room only after its teardown (closing the session, building
    the session report, ...), with no hook before it: ~60 ms of the agent's loop on loopback between
    ``ctx.shutdown`` and the leave. An instance attribute shadows the method for that one call.
    """

    async def disconnect() -> None:
        await asyncio.shield(leaving)

    setattr(room, "disconnect", disconnect)  # noqa: B010 (mypy refuses assigning to a method)


REPLY_TURNS = 2
"""Event-loop turns between an RPC handler's return and livekit-rtc (1.0.23 ... 1.2.1) sending its reply: it runs
the handler in a task of its own and sends the reply from the task awaiting it
(``_handle_rpc_method_invocation``), which resumes two loop turns after the handler returned."""


def after_reply_and_silence(callback: Callable[[], object]) -> None:
    """Run ``callback`` once livekit-rtc has sent the reply of the handler that is returning, and after the
    silence that follows it (:data:`REPLY_TURNS` + 2 loop turns): logging stays off the acknowledgement's way
    (a job process's log handler formats and pickles every record for the worker)."""
    loop = asyncio.get_running_loop()

    def hop(turns_left: int) -> None:
        if turns_left:
            loop.call_soon(hop, turns_left - 1)
        else:
            callback()

    loop.call_soon(hop, REPLY_TURNS + 1)


async def reply_sent() -> None:
    """Let livekit-rtc send the reply of the handler that just returned (:data:`REPLY_TURNS` loop turns).

    Work done before that (silencing the session, setting attributes) would delay the acknowledgement; after
    these turns it runs right after the reply instead (spec §11: the acknowledgement is sent before the agent
    starts leaving).
    """
    for _ in range(REPLY_TURNS):
        await asyncio.sleep(0)


def primary_session(ctx: JobContext) -> AgentSession[Any] | None:
    """The job's primary AgentSession (``JobContext.primary_session``, which raises RuntimeError while there is
    none), or None. Releases without it (1.2.18, 1.3.12) give None: there the session to silence or drain is
    the one passed as ``enable_remote_shutdown(session=...)``, and :func:`internals_verified` says so."""
    if not primary_session_supported(ctx):
        return None
    with contextlib.suppress(RuntimeError):
        return ctx.primary_session
    return None


NO_PRIMARY_SESSION_LOG = (
    "remote shutdown: this livekit-agents has no JobContext.primary_session (before 1.4): pass "
    "enable_remote_shutdown(session=...), or accepted requests will neither silence nor drain the session"
)


def primary_session_supported(ctx: JobContext) -> bool:
    """Whether the release has ``JobContext.primary_session`` (1.4.6 ... 1.8.9; not 1.2.18 or 1.3.12)."""
    return hasattr(type(ctx), "primary_session")


def delete_room(ctx: JobContext, room: str) -> Awaitable[Any]:
    """``ctx.delete_room(room)``. livekit-agents 1.2 takes no name and deletes the job's own room, which is the
    room every accepted request is bound to (verified 1.2.18; 1.3.12 ... 1.8.9 take the name)."""
    if "room_name" in inspect.signature(ctx.delete_room).parameters:
        return ctx.delete_room(room)
    return ctx.delete_room()  # type: ignore[call-arg, unused-ignore]


SID_RESOLVED_AT_CONNECT = VersionRange("1.1.14", "1.2.1")
"""livekit (rtc) releases whose ``Room.sid`` resolves once ``connect()`` returns. In 1.0.23, 1.1.2, 1.1.8 and
1.1.10 it resolves only on a later ``room_sid_changed`` event, so awaiting it before the connection hangs
whenever the server sent the sid with the join (always, on livekit-server 1.13)."""

CONNECT_POLL_S = 0.05


async def room_connected(room: rtc.Room, rtc_version: str | None = None) -> None:
    """Return once ``room`` is connected. ``Room.connect()`` emits no event for the first connection: on the
    releases of :data:`SID_RESOLVED_AT_CONNECT` the first room sid resolves right after it; on the others (and
    outside the table) the connection state is polled every :data:`CONNECT_POLL_S` seconds."""
    if (rtc_version or _installed("livekit")) in SID_RESOLVED_AT_CONNECT:
        await room.sid
        return
    while not room.isconnected():  # noqa: ASYNC110 (these releases emit nothing on the first connection)
        await asyncio.sleep(CONNECT_POLL_S)
