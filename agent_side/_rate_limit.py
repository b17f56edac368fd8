"""Per-caller limit on refused attempts: a token bucket per caller identity, kept in a bounded LRU."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    """``burst`` refusals in a row, then one more every ``1 / refill_per_s`` seconds; ``max_callers`` buckets."""

    burst: int = 10
    refill_per_s: float = 0.2
    max_callers: int = 1024

    def __post_init__(self) -> None:
        if self.burst < 1 or self.refill_per_s <= 0 or self.max_callers < 1:
            raise ValueError("burst, refill_per_s and max_callers must be positive")


@dataclass
class _Bucket:
    tokens: float
    updated_s: float


class FailureLimiter:
    """Callers who keep getting refused are refused without being looked at, until their bucket refills.

    Memory is bounded by ``max_callers``: the least recently seen caller is forgotten first (its bucket
    starts full again if it comes back), which an attacker could exploit only by controlling many identities.
    """

    def __init__(self, limit: RateLimit | None = None, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit or RateLimit()
        self._now = monotonic
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def allows(self, caller: str) -> bool:
        """Whether ``caller`` still has a refusal left (checked before any work on its request)."""
        bucket = self._refilled(caller)
        return bucket is None or bucket.tokens >= 1.0

    def record_failure(self, caller: str) -> None:
        """Spend one token of ``caller``'s bucket."""
        bucket = self._refilled(caller)
        if bucket is None:
            bucket = _Bucket(float(self._limit.burst), self._now())
            self._buckets[caller] = bucket
            while len(self._buckets) > self._limit.max_callers:
                self._buckets.popitem(last=False)
        bucket.tokens = max(0.0, bucket.tokens - 1.0)

    def _refilled(self, caller: str) -> _Bucket | None:
        bucket = self._buckets.get(caller)
        if bucket is None:
            return None
        self._buckets.move_to_end(caller)
        now = self._now()
        refill = (now - bucket.updated_s) * self._limit.refill_per_s
        bucket.tokens = min(float(self._limit.burst), bucket.tokens + refill)
        bucket.updated_s = now
        return bucket
