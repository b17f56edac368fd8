"""§6 Time: expiry, clock skew and the maximum lifetime, checked before the rest of the schema."""

from __future__ import annotations

from shutdown_rpc.protocol import ErrorCode

from .builder import (
    IAT,
    Builder,
    body,
    pack,
    sb,
)


def add(v: Builder) -> None:
    """Append this section's cases to ``v``, in file order."""
    v.add(
        "expired",
        "now == (expires_at + skew) * 1000",
        sb(pack(body(60))),
        ErrorCode.EXPIRED,
        now_ms=(IAT + 60 + 30) * 1000,
    )
    v.add(
        "not_yet_valid",
        "agent clock 30 s + 1 ms behind issued_at",
        sb(pack(body(61))),
        ErrorCode.NOT_YET_VALID,
        now_ms=(IAT - 30) * 1000 - 1,
    )
    v.add(
        "lifetime_301",
        "lifetime one second over the maximum",
        sb(pack(body(62, expires_at=IAT + 301))),
        ErrorCode.LIFETIME_TOO_LONG,
    )
    v.add(
        "expired_before_schema",
        "expired and an extra field: time is checked first",
        sb(pack({**body(63), "extra": True})),
        ErrorCode.EXPIRED,
        now_ms=(IAT + 120) * 1000,
    )
    v.add(
        "lifetime_before_not_yet_valid",
        "too long and in the future: lifetime is checked first",
        sb(pack(body(64, issued_at=IAT + 1000, expires_at=IAT + 2000))),
        ErrorCode.LIFETIME_TOO_LONG,
    )
