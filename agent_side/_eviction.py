"""Evicting a participant that keeps calling while over its refusal budget (spec §7 step 15, §13).

Such a caller gets RATE_LIMITED without its payload being read, but each call still passes through the agent's
one data channel and the rtc SDK, ahead of any valid request that arrives behind it. After ``evict_after``
refusals over its budget it is removed from the room (RoomService.RemoveParticipant, with the job's API
credentials). Logged once when a caller first goes over its budget and once per eviction, never per refusal.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from shutdown_rpc._log import logger

from ._outcomes import loggable

REMOVE_TIMEOUT_S = 5.0


class FloodEviction:
    """Counts refusals over the per-caller budget; removes the caller at ``evict_after`` (None: never).

    ``evictable(identity)`` says whether the caller is a participant of the room that may be removed (not a
    RoomService.PerformRpc caller, not an agent); ``remove(identity)`` removes it. Memory is bounded by
    ``max_callers`` (least recently seen forgotten first), like the per-caller budgets.
    """

    def __init__(
        self,
        evict_after: int | None,
        *,
        evictable: Callable[[str], bool],
        remove: Callable[[str], Awaitable[None]],
        max_callers: int = 1024,
    ) -> None:
        self._evict_after = evict_after
        self._evictable = evictable
        self._remove = remove
        self._max_callers = max_callers
        self._over: OrderedDict[str, int] = OrderedDict()  # caller -> refusals over its budget
        self._tasks: dict[str, asyncio.Task[None]] = {}  # removals in flight, one per caller
        self.evicted = 0

    def over_budget(self, caller: str) -> None:
        """One refusal of ``caller`` while over its own budget (RATE_LIMITED before reading the payload)."""
        count = self._over.pop(caller, 0) + 1
        self._over[caller] = count
        while len(self._over) > self._max_callers:
            self._over.popitem(last=False)
        if count == 1:
            logger.warning(
                "remote shutdown: caller %s is over its refusal budget; its refusals are no longer logged one by one",
                loggable(caller),
                extra={"caller_identity": loggable(caller)},
            )
        if self._evict_after is None or count < self._evict_after or caller in self._tasks:
            return
        if not self._evictable(caller):  # e.g. its arrival is not known here yet: the next refusal tries again
            return
        task = asyncio.get_running_loop().create_task(self._evict(caller, count), name="shutdown_rpc.evict")
        self._tasks[caller] = task
        task.add_done_callback(lambda _: self._tasks.pop(caller, None))

    async def _evict(self, caller: str, refusals: int) -> None:
        shown = loggable(caller)
        try:
            await asyncio.wait_for(self._remove(caller), REMOVE_TIMEOUT_S)
        except Exception:
            logger.warning("remote shutdown: could not remove flooding caller %s", shown, exc_info=True)
            return
        self.evicted += 1
        logger.warning(
            "remote shutdown: removed %s from the room after %d refusals over its budget",
            shown,
            refusals,
            extra={"caller_identity": shown, "refusals_over_budget": refusals},
        )

    async def aclose(self) -> None:
        """Wait for removals in flight (tests and tools)."""
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
