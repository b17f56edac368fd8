"""One small object that sees "the job is ending, for any cause" and owns the hooks that tell it so.

livekit-agents 1.8.9's JobContext exposes no "shutting down" state (the future lives in the job process runner;
see harness/README.md), so three signals are combined:

- ``ctx.shutdown`` (the application, a simulation end) is wrapped on this ``ctx`` instance: the wrapper reports
  the reason, then calls the original unchanged. This library's own shutdown calls the original directly
  (:meth:`JobEndingWatch.shutdown`), so the request path never loops back into itself;
- the Room's ``disconnected`` event: DeleteRoom, RemoveParticipant, a duplicate identity, or the job's own
  teardown (livekit-agents ends the job with "room disconnected");
- a shutdown callback registered before any other of ours (callbacks run once the room is gone).

A worker-initiated end (DeleteDispatch, worker shutdown) or a crashed entrypoint is only seen once the
teardown disconnects the room.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from livekit.agents import JobContext


class JobEndingWatch:
    """Calls ``on_ending(cause)`` each time the job is seen ending; :meth:`install` sets the hooks once."""

    def __init__(self, ctx: JobContext, on_ending: Callable[[str], None]) -> None:
        self._ctx = ctx
        self._on_ending = on_ending
        self._original_shutdown: Callable[..., None] = ctx.shutdown

    def install(self) -> None:
        """Wrap ``ctx.shutdown``, listen to the room's ``disconnected`` event, add a first shutdown callback."""
        original = self._original_shutdown

        @functools.wraps(original)
        def shutdown(reason: str = "user requested") -> None:
            self._on_ending(reason)
            original(reason)

        # an instance attribute shadows the method for every caller of ctx.shutdown (get_job_context() included)
        setattr(self._ctx, "shutdown", shutdown)  # noqa: B010 (mypy refuses assigning to a method)

        def on_room_disconnected(*_args: Any) -> None:
            self._on_ending("room disconnected")

        self._ctx.room.on("disconnected", on_room_disconnected)

        async def note_job_ending(reason: str) -> None:
            self._on_ending(reason)

        self._ctx.add_shutdown_callback(note_job_ending)

    def shutdown(self, reason: str) -> None:
        """End the job with ``reason`` through the original ``ctx.shutdown`` (not reported back as a cause)."""
        self._original_shutdown(reason)
