"""Posts the webhook listener refused (bad signature, body too large...) are logged in sum, never one record
each: anyone who can reach the listener's port could otherwise fill the log (as the agent does for floods of
refused shutdown attempts)."""

from __future__ import annotations

import time
from collections.abc import Callable

from shutdown_rpc._log import logger

SUMMARY_INTERVAL_S = 60.0  # a flood that never ends is still summed up this often


class RefusedPosts:
    """A record when refusals start, then their count: once a verified post arrives, once the listener closes,
    and at most every ``interval_s`` while they go on."""

    def __init__(self, interval_s: float = SUMMARY_INTERVAL_S, monotonic: Callable[[], float] = time.monotonic):
        self._interval_s = interval_s
        self._now = monotonic
        self._since: float | None = None  # when the current flood's last record was written; None: no flood
        self._unlogged = 0

    def refused(self, why: str) -> None:
        """One refused post; ``why`` names the failure's type only, never data from the post."""
        now = self._now()
        if self._since is None:
            logger.warning("refused a webhook post: %s; further refused posts are logged in sum", why)
            self._since = now
            return
        self._unlogged += 1
        if now - self._since >= self._interval_s:
            self._summarise()
            self._since = now

    def ended(self) -> None:
        """A verified post arrived, or the listener closes: the flood's count, if it had more than one post."""
        self._summarise()
        self._since = None

    def _summarise(self) -> None:
        if self._unlogged:
            logger.warning(
                "refused %d more webhook posts (not signed with the API secret, or too large)",
                self._unlogged,
                extra={"refused_posts": self._unlogged},
            )
        self._unlogged = 0
