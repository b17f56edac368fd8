"""Injectable clocks. Protocol time is integer milliseconds since the Unix epoch (safe in JS numbers)."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current wall-clock time in milliseconds since the epoch."""

    def now_ms(self) -> int:
        """Current time in integer milliseconds since 1970-01-01T00:00:00Z."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now_ms(self) -> int:
        """Current wall-clock time in milliseconds."""
        return time.time_ns() // 1_000_000


class FixedClock:
    """A clock that says what it is told: for tests, vectors and replays of recorded traffic."""

    def __init__(self, now_ms: int) -> None:
        self._now_ms = now_ms

    def now_ms(self) -> int:
        """The time last set."""
        return self._now_ms

    def set(self, now_ms: int) -> None:
        """Move the clock to ``now_ms``."""
        self._now_ms = now_ms

    def advance(self, delta_ms: int) -> None:
        """Move the clock forward by ``delta_ms``."""
        self._now_ms += delta_ms
