"""One small object that sees "the job is ending, for any cause" and owns the hooks that tell it so.

livekit-agents 1.8.9's JobContext exposes no "shutting down" state (the future lives in the job process runner;
see harness/README.md), so three signals are combined:

- ``ctx.shutdown`` (the application, a simulation end) is wrapped on this ``ctx`` instance (``_livekit_compat``):
  the wrapper reports the reason, then calls the original unchanged. This library's own shutdown calls the
  original directly (:attr:`JobEndingWatch.shutdown`), so the request path never loops back into itself;
- the Room's ``disconnected`` event: DeleteRoom, RemoveParticipant, a duplicate identity, or the job's own
  teardown (livekit-agents ends the job with "room disconnected");
- a shutdown callback registered before any other of ours (callbacks run once the room is gone).

A worker-initiated end (DeleteDispatch, worker shutdown) or a crashed entrypoint is only seen once the
teardown disconnects the room.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._livekit_compat import wrap_ctx_shutdown

if TYPE_CHECKING:
    from livekit.agents import JobContext


class JobEndingWatch:
    """Made on a ``ctx`` without touching it; :meth:`install` sets the hooks that call ``on_ending(cause)``."""

    def __init__(self, ctx: JobContext) -> None:
        self._ctx = ctx
        self.shutdown: Callable[[str], None] = ctx.shutdown
        """The job's original ``ctx.shutdown`` (what ending on request calls: not reported back as a cause)."""

    def install(self, on_ending: Callable[[str], None], *, wrap_shutdown: bool = True) -> None:
        """Wrap ``ctx.shutdown`` (unless ``wrap_shutdown`` is False), listen to the room's ``disconnected``
        event, add a first shutdown callback."""
        if wrap_shutdown:
            wrap_ctx_shutdown(self._ctx, on_ending)

        def on_room_disconnected(*_args: Any) -> None:
            on_ending("room disconnected")

        self._ctx.room.on("disconnected", on_room_disconnected)

        async def note_job_ending(reason: str) -> None:
            on_ending(reason)

        self._ctx.add_shutdown_callback(note_job_ending)
