"""Per-caller limit on refused attempts: a token bucket per caller identity, kept in a bounded LRU."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    """Budgets of refused attempts (spec §7 step 15).

    Per caller identity: ``burst`` refusals in a row, then one more every ``1 / refill_per_s`` seconds, in
    ``max_callers`` buckets; a caller over its budget is refused RATE_LIMITED before its payload is read.

    Across all callers (RoomService.PerformRpc callers get a fresh random identity per call, so no per-caller
    bucket ever fills for them): ``all_callers_burst`` refusals, refilled at ``all_callers_refill_per_s``.
    While that budget is spent, every call is still decided, never refused unread: the checks that need no
    signature run first, a request that passes every check is accepted as usual, and any refusal is answered
    RATE_LIMITED (not logged one by one). Invalid traffic thus costs at most one signature check per attempt
    and can never keep a valid request out.

    Eviction (spec §13): a participant of the room that keeps calling while over its own budget gets nothing
    from it, yet each call passes through the agent's one data channel ahead of valid requests. After
    ``evict_after`` refusals over its budget it is removed from the room (RoomService.RemoveParticipant with
    the job's API credentials), logged once. On by default: a conforming caller never gets there (the
    reference clients make at most 4 attempts per request and do not retry a refusal that cannot change), and
    one removed by mistake can join again. ``None`` turns it off. Agents and PerformRpc callers are never
    removed.
    """

    burst: int = 10
    refill_per_s: float = 0.2
    max_callers: int = 1024
    all_callers_burst: int = 100
    all_callers_refill_per_s: float = 20.0
    evict_after: int | None = 20

    def __post_init__(self) -> None:
        if (
            self.burst < 1
            or self.refill_per_s <= 0
            or self.max_callers < 1
            or self.all_callers_burst < 1
            or self.all_callers_refill_per_s <= 0
            or (self.evict_after is not None and self.evict_after < 1)
        ):
            raise ValueError(
                "burst, refill_per_s, max_callers and evict_after (and the all_callers_ ones) must be positive"
            )

    def all_callers(self) -> RateLimit:
        """The budget across all callers, as the limit of one bucket."""
        return RateLimit(
            burst=self.all_callers_burst, refill_per_s=self.all_callers_refill_per_s, max_callers=1, evict_after=None
        )


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

    def is_full(self, caller: str) -> bool:
        """Whether ``caller``'s bucket is full again (no refusal it would still remember)."""
        bucket = self._refilled(caller)
        return bucket is None or bucket.tokens >= self._limit.burst

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
