"""Floods of RATE_LIMITED answers are logged in sum, never once per attempt (spec §7 step 15).

A flood is logged twice: when it starts, and with the number of attempts it made once its budget has really
recovered (the next call finds a refusal left in it). In bench_flood a debug record per attempt was ~18 % of
the agent's CPU (emitting it and forwarding it to the worker), with the debug level livekit-agents sets in dev
mode; a warning per attempt would also let anyone who can call the agent fill its log.
"""

from __future__ import annotations

from collections import OrderedDict

from shutdown_rpc._log import logger

from ._outcomes import loggable


class AllCallersFlood:
    """The budget across all callers is spent: refusals are answered RATE_LIMITED and counted here."""

    def __init__(self) -> None:
        self._unlogged: int | None = None  # None: no flood going on

    @property
    def active(self) -> bool:
        """Whether a flood was logged and its summary is still owed."""
        return self._unlogged is not None

    def refused(self) -> None:
        """One more refusal answered RATE_LIMITED because the budget is spent (logged once per flood)."""
        if self._unlogged is None:
            logger.warning("remote shutdown: too many refused attempts from all callers; answering RATE_LIMITED")
            self._unlogged = 0
        self._unlogged += 1

    def recovered(self) -> None:
        """The budget has a refusal left again: the flood's summary."""
        if self._unlogged is None:
            return
        logger.warning(
            "remote shutdown: refused-attempt budget recovered; %d attempts were answered RATE_LIMITED unlogged",
            self._unlogged,
            extra={"unlogged_refusals": self._unlogged},
        )
        self._unlogged = None


class CallerFloods:
    """Callers over their own budget, each refused RATE_LIMITED unread: counted per caller, in at most
    ``max_callers`` entries (the least recently refused forgotten first, its summary with it)."""

    def __init__(self, max_callers: int) -> None:
        self._max_callers = max_callers
        self._unlogged: OrderedDict[str, int] = OrderedDict()

    def active(self, caller: str) -> bool:
        """Whether ``caller``'s flood was logged and its summary is still owed."""
        return caller in self._unlogged

    def refused(self, caller: str) -> None:
        """One more attempt of ``caller`` refused over its limit (logged once per flood of that caller)."""
        count = self._unlogged.pop(caller, None)
        if count is None:
            logger.warning(
                "remote shutdown: caller %s over its limit of refused attempts; answering RATE_LIMITED",
                loggable(caller),
                extra={"caller_identity": loggable(caller)},
            )
            count = 0
        self._unlogged[caller] = count + 1
        while len(self._unlogged) > self._max_callers:
            self._unlogged.popitem(last=False)

    def recovered(self, caller: str) -> None:
        """``caller`` has a refusal left again: its flood's summary."""
        count = self._unlogged.pop(caller, None)
        if count is None:
            return
        logger.warning(
            "remote shutdown: caller %s limit recovered; %d attempts were answered RATE_LIMITED unlogged",
            loggable(caller),
            count,
            extra={"caller_identity": loggable(caller), "unlogged_refusals": count},
        )
