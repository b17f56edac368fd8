"""How an accepted request ends the job (:class:`EndingTimings`): the waits and bounds of the ending, what the
room is told, and the application's ``on_accepted`` hook. Who may end it is ``_policy``'s AccessPolicy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shutdown_rpc.protocol import LIMITS, ShutdownRequest

if TYPE_CHECKING:
    from ._request import RemoteRequest

DEFAULT_REPLY_FLUSH_DELAY_S = 3.0  # spec §11: the shortest bound measured at >= 99.5 % delivery on `mobile`
DEFAULT_DRAIN_GRACE_MS = 10_000
DEFAULT_DELETE_ROOM_TIMEOUT_S = 5.0
_MAX_GRACE_MS = LIMITS["max_grace_ms"]

OnAccepted = Callable[["RemoteRequest"], "Awaitable[None] | None"]
"""Application hook run once, after the acknowledgement has been returned and before the job shuts down."""


@dataclass(frozen=True)
class EndingTimings:
    """How an accepted request ends the job. The defaults suit a voice agent.

    - ``reply_flush_delay_s``: the most the agent waits, after returning the acknowledgement, for the callers'
      receipts before ``ctx.shutdown`` (spec §11). LiveKit hands the reply to its native layer after the
      handler returns and ``Room.disconnect()`` does not flush it; a caller that got a reply says so, and once
      every answer that carried the receipt token has its receipt the agent leaves at once. Without them (no
      receipt, or a retry answered twice) the agent waits the whole bound.
    - ``default_drain_grace_ms`` / ``max_drain_grace_ms``: bound of a drain when the request's ``grace_ms`` is
      0, and the cap applied to any request's ``grace_ms``.
    - ``delete_room_timeout_s``: bound of the DeleteRoom call made after the agent has left.
    - ``show_reason``: put the caller's reason in the ``shutdown_rpc.reason`` attribute the room sees (spec §10).
    - ``end_dispatch``: delete the job's dispatch right before ``ctx.shutdown`` (room jobs only), so the server
      records the job as a success rather than "agent worker left the room".
    - ``on_accepted``: application hook (sync or async), run after the acknowledgement, before the waits.
    """

    reply_flush_delay_s: float = DEFAULT_REPLY_FLUSH_DELAY_S
    default_drain_grace_ms: int = DEFAULT_DRAIN_GRACE_MS
    max_drain_grace_ms: int = _MAX_GRACE_MS
    delete_room_timeout_s: float = DEFAULT_DELETE_ROOM_TIMEOUT_S
    show_reason: bool = False
    end_dispatch: bool = True
    on_accepted: OnAccepted | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.reply_flush_delay_s <= 10:
            raise ValueError("reply_flush_delay_s must be within 0..10")
        if not 0 <= self.default_drain_grace_ms <= _MAX_GRACE_MS or not 0 <= self.max_drain_grace_ms <= _MAX_GRACE_MS:
            raise ValueError(f"drain grace must be within 0..{_MAX_GRACE_MS} ms")
        if self.delete_room_timeout_s <= 0:
            raise ValueError("delete_room_timeout_s must be positive")

    def drain_grace_s(self, request: ShutdownRequest) -> float:
        """How long a drain may last for ``request``."""
        grace_ms = request.options.grace_ms or self.default_drain_grace_ms
        return min(grace_ms, self.max_drain_grace_ms) / 1000
