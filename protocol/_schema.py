"""The signed body of a v1 shutdown request (spec.md, "Body"), validated with pydantic in strict mode."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._limits import (
    MAX_GRACE_MS,
    MAX_ISSUER_BYTES,
    MAX_REASON_BYTES,
    MAX_REQUEST_ID_CHARS,
    MAX_ROOM_BYTES,
    MAX_TARGET_BYTES,
    MIN_REQUEST_ID_CHARS,
    UINT32_MAX,
)

ANY_AGENT = "*"
REQUEST_ID_PATTERN = rf"[A-Za-z0-9_-]{{{MIN_REQUEST_ID_CHARS},{MAX_REQUEST_ID_CHARS}}}"
"""A request id (spec §4), unanchored: the one pattern the schema, the receipt, the reason parser and the
clients use (anchor it, or use ``re.fullmatch``)."""
# These strings end up in logs and in the shutdown reason: no C0/C1 control characters, no DEL, no line or
# paragraph separator (U+2028/U+2029: line breaks to many log viewers), no bidi controls.
_FORBIDDEN_CHARS = r"\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_PRINTABLE = f"^[^{_FORBIDDEN_CHARS}]*$"
# The issuer also may not contain brackets, so "remote shutdown by {issuer} [{request_id}]: ..." parses one way.
_ISSUER = rf"^[^{_FORBIDDEN_CHARS}\[\]]*$"


def is_issuer(text: str) -> bool:
    """Whether ``text`` follows §4's rule for ``issuer`` (1-128 UTF-8 bytes, no forbidden character, no brackets)."""
    return 1 <= _utf8_length(text) <= MAX_ISSUER_BYTES and re.fullmatch(_ISSUER, text) is not None


def is_reason(text: str) -> bool:
    """Whether ``text`` follows §4's rule for ``reason`` (0-512 UTF-8 bytes, no forbidden character)."""
    return _utf8_length(text) <= MAX_REASON_BYTES and re.fullmatch(_PRINTABLE, text) is not None


def _utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


_UTF8_LIMITS = (
    ("room", MAX_ROOM_BYTES),
    ("target", MAX_TARGET_BYTES),
    ("reason", MAX_REASON_BYTES),
    ("issuer", MAX_ISSUER_BYTES),
)

_FORBIDDEN = re.compile(f"[{_FORBIDDEN_CHARS}]")


def reason_problem(reason: str) -> str | None:
    """Why ``reason`` cannot be a request's reason (too many UTF-8 bytes, a control character), or None."""
    size = len(reason.encode("utf-8", "surrogatepass"))
    if size > MAX_REASON_BYTES:
        return f"reason is {size} UTF-8 bytes, at most {MAX_REASON_BYTES} are allowed"
    forbidden = _FORBIDDEN.search(reason)
    if forbidden is not None:
        return f"reason contains the control character U+{ord(forbidden.group()):04X} (not allowed in logs)"
    return None


Seconds = Annotated[int, Field(ge=0, le=UINT32_MAX)]


class ShutdownOptions(BaseModel):
    """How the agent should end: drain current speech (bounded by grace_ms), and/or delete the room after.

    On the wire all three keys are required; use :meth:`defaults` for the plain case.
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    drain: bool
    grace_ms: Annotated[int, Field(ge=0, le=MAX_GRACE_MS)]
    delete_room: bool

    @classmethod
    def defaults(cls) -> ShutdownOptions:
        """End right away, keep the room: no drain, no grace, no room deletion."""
        return cls(drain=False, grace_ms=0, delete_room=False)


class ShutdownRequest(BaseModel):
    """One shutdown request, bound to one room and one agent (or ANY_AGENT), valid for a short time."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    request_id: Annotated[str, Field(pattern=f"^{REQUEST_ID_PATTERN}$")]
    issued_at: Seconds
    expires_at: Seconds
    room: Annotated[str, Field(min_length=1, max_length=MAX_ROOM_BYTES)]
    target: Annotated[str, Field(min_length=1, max_length=MAX_TARGET_BYTES)]
    reason: Annotated[str, Field(max_length=MAX_REASON_BYTES, pattern=_PRINTABLE)]
    issuer: Annotated[str, Field(min_length=1, max_length=MAX_ISSUER_BYTES, pattern=_ISSUER)]
    options: ShutdownOptions

    @model_validator(mode="after")
    def _check_limits(self) -> ShutdownRequest:
        # Field max_length counts code points; the spec bounds UTF-8 bytes, which only differ for non-ASCII.
        for name, limit in _UTF8_LIMITS:
            value: str = getattr(self, name)
            if not value.isascii() and len(value.encode("utf-8")) > limit:
                raise ValueError(f"{name} is longer than {limit} UTF-8 bytes")
        if self.expires_at <= self.issued_at:
            raise ValueError("expires_at must be after issued_at")
        return self

    def wire_dict(self) -> dict[str, object]:
        """The body map in the spec's field order (the order encoders write it)."""
        return {
            "request_id": self.request_id,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
            "room": self.room,
            "target": self.target,
            "reason": self.reason,
            "issuer": self.issuer,
            "options": {
                "drain": self.options.drain,
                "grace_ms": self.options.grace_ms,
                "delete_room": self.options.delete_room,
            },
        }
