"""Adapters for livekit-agents releases older than the newest one the library is written against.

Each adapter names the releases it was verified on (by the compatibility matrix, noxfile.py; the table is in
docs/compatibility.md). Nothing here changes the order of the acknowledgement or how often the job ends.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from livekit.agents import AgentSession, JobContext


def delete_room(ctx: JobContext, room: str) -> Awaitable[Any]:
    """``ctx.delete_room(room)``. livekit-agents 1.2 takes no name and deletes the job's own room, which is the
    room every accepted request is bound to (verified 1.2.18; 1.3.12 ... 1.8.9 take the name)."""
    if "room_name" in inspect.signature(ctx.delete_room).parameters:
        return ctx.delete_room(room)
    return ctx.delete_room()  # type: ignore[call-arg, unused-ignore]


def primary_session(ctx: JobContext) -> AgentSession[Any] | None:
    """The job's primary AgentSession, or None when none was started or the release has no such notion
    (``JobContext.primary_session``: in 1.4.6 ... 1.8.9, not in 1.2.18 or 1.3.12, where ``session=`` must be passed)."""
    try:
        return ctx.primary_session
    except (RuntimeError, AttributeError):
        return None
