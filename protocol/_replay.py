"""Bounded memory of request ids, the one place that decides REQUEST_ID_CONFLICT and duplicates.

A request id is first *reserved* while the agent decides (its veto may take time), then *committed* with the
answer repeats get, or *released* if it was refused. Committed entries are kept until the request can no longer
verify (expiry + skew). Reserved ids count against the capacity like committed ones (spec §7.1, as the JS
``ReplayMemory`` does): a full memory refuses at ``reserve``, before the agent's veto runs, and a reservation,
once held, always has room to commit. Entries keep the signed message itself (at most MAX_PAYLOAD_BYTES)
rather than a hash: comparing two short byte strings is cheaper than hashing one, and the capacity bounds the
memory either way (4096 x 4 KiB worst case).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from ._ack import Acknowledgement
from ._errors import ErrorCode, ShutdownRpcError
from ._limits import DEFAULT_REPLAY_CAPACITY


@dataclass(frozen=True)
class ReplayEntry:
    """What was accepted under one request id: the exact signed message and the answer to give repeats."""

    signed_bytes: bytes
    duplicate_ack: Acknowledgement
    forget_at_ms: int


@dataclass(frozen=True, eq=False)
class Reservation:
    """A request id held while its request is being decided; :meth:`ReplayCache.commit` or ``release`` ends it.

    ``first`` is False when another copy of the same request already held the id: that copy decides, this one
    waits for its answer (the reservation is shared, and only the first holder commits or releases it).
    """

    request_id: str
    signed_bytes: bytes
    first: bool


class ReplayCache:
    """Request id -> ReplayEntry, bounded. Full of live entries and pending reservations, it refuses new
    reservations with RATE_LIMITED (fails closed) and never evicts a live entry."""

    def __init__(self, max_entries: int = DEFAULT_REPLAY_CAPACITY) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self._max_entries = max_entries
        self._entries: dict[str, ReplayEntry] = {}
        self._expiry: list[tuple[int, str]] = []
        self._reserved: dict[str, bytes] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, request_id: str, now_ms: int) -> ReplayEntry | None:
        """The live committed entry for ``request_id``, if any."""
        entry = self._entries.get(request_id)
        if entry is None or entry.forget_at_ms <= now_ms:
            return None
        return entry

    def check(self, request_id: str, signed_bytes: bytes, now_ms: int) -> ReplayEntry | None:
        """Spec §7 step 11: the entry to answer a repeat with, None if unseen; REQUEST_ID_CONFLICT if reused."""
        seen = self.lookup(request_id, now_ms)
        if seen is not None and seen.signed_bytes != signed_bytes:
            raise ShutdownRpcError(ErrorCode.REQUEST_ID_CONFLICT, "request id reused for another request")
        return seen

    def reserve(self, request_id: str, signed_bytes: bytes, now_ms: int) -> Reservation:
        """Hold ``request_id`` while its request is decided. REQUEST_ID_CONFLICT if it is held for other content;
        a copy of the request being decided shares its reservation (``first=False``, no room needed); otherwise
        RATE_LIMITED if live entries and pending reservations fill the memory."""
        held = self._reserved.get(request_id)
        if held is not None:
            if held != signed_bytes:
                raise ShutdownRpcError(ErrorCode.REQUEST_ID_CONFLICT, "request id reused for another request")
            return Reservation(request_id, signed_bytes, first=False)
        if self._full(request_id, now_ms):
            raise ShutdownRpcError(ErrorCode.RATE_LIMITED, "replay memory full")
        self._reserved[request_id] = signed_bytes
        return Reservation(request_id, signed_bytes, first=True)

    def commit(self, reservation: Reservation, duplicate_ack: Acknowledgement, forget_at_ms: int, now_ms: int) -> None:
        """Remember the reserved request with the answer repeats get. The reservation ends either way.

        A first reservation was given its room by :meth:`reserve`; RATE_LIMITED only guards the commit of a
        ``first=False`` copy into a memory that filled up meanwhile (nothing is evicted).
        """
        self.release(reservation)
        self._purge(now_ms)
        request_id = reservation.request_id
        if request_id not in self._entries and len(self._entries) + len(self._reserved) >= self._max_entries:
            raise ShutdownRpcError(ErrorCode.RATE_LIMITED, "replay memory full")
        self._entries[request_id] = ReplayEntry(reservation.signed_bytes, duplicate_ack, forget_at_ms)
        heapq.heappush(self._expiry, (forget_at_ms, request_id))

    def release(self, reservation: Reservation) -> None:
        """Give up a reservation (the request was refused or its decision failed): nothing is remembered."""
        if reservation.first:
            self._reserved.pop(reservation.request_id, None)

    def _full(self, request_id: str, now_ms: int) -> bool:
        """Whether holding one more id leaves no room; expired entries are forgotten only when it looks full."""
        if len(self._entries) + len(self._reserved) < self._max_entries:
            return False
        self._purge(now_ms)
        # A live committed entry under this id already takes its room (its commit replaces it).
        return request_id not in self._entries and len(self._entries) + len(self._reserved) >= self._max_entries

    def _purge(self, now_ms: int) -> None:
        while self._expiry and self._expiry[0][0] <= now_ms:
            forget_at, request_id = heapq.heappop(self._expiry)
            entry = self._entries.get(request_id)
            if entry is not None and entry.forget_at_ms == forget_at:
                del self._entries[request_id]
