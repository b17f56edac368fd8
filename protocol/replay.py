"""Bounded memory of accepted request ids, kept until each request can no longer verify (expiry + skew).

Entries keep the signed message itself (at most MAX_PAYLOAD_BYTES) rather than a hash: comparing two short byte
strings is cheaper than hashing one, and max_entries bounds the memory either way (4096 x 4 KiB worst case).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from ._limits import DEFAULT_REPLAY_CAPACITY
from .ack import Ack
from .errors import ErrorCode, ShutdownRpcError


@dataclass(frozen=True)
class ReplayEntry:
    """What was accepted under one request id: the exact signed message and the answer to give repeats."""

    signed_bytes: bytes
    duplicate_ack: Ack
    forget_at_ms: int


class ReplayCache:
    """Request id -> ReplayEntry, bounded. When full of live entries it refuses (fails closed), never evicts."""

    def __init__(self, max_entries: int = DEFAULT_REPLAY_CAPACITY) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self._max_entries = max_entries
        self._entries: dict[str, ReplayEntry] = {}
        self._expiry: list[tuple[int, str]] = []

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, request_id: str, now_ms: int) -> ReplayEntry | None:
        """The live entry for ``request_id``, if any."""
        entry = self._entries.get(request_id)
        if entry is None or entry.forget_at_ms <= now_ms:
            return None
        return entry

    def record(self, request_id: str, entry: ReplayEntry, now_ms: int) -> None:
        """Remember an accepted request; RATE_LIMITED if the memory is full of live entries."""
        self._purge(now_ms)
        if request_id not in self._entries and len(self._entries) >= self._max_entries:
            raise ShutdownRpcError(ErrorCode.RATE_LIMITED, "replay memory full")
        self._entries[request_id] = entry
        heapq.heappush(self._expiry, (entry.forget_at_ms, request_id))

    def _purge(self, now_ms: int) -> None:
        while self._expiry and self._expiry[0][0] <= now_ms:
            forget_at, request_id = heapq.heappop(self._expiry)
            entry = self._entries.get(request_id)
            if entry is not None and entry.forget_at_ms == forget_at:
                del self._entries[request_id]
