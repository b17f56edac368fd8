"""§2 Transport: size before anything, strict canonical base64."""

from __future__ import annotations

import base64

from shutdown_rpc.protocol import ErrorCode

from .builder import (
    OK_HMAC,
    Builder,
    b64,
    envelope,
    pack,
)


def add(v: Builder) -> None:
    """Append this section's cases to ``v``, in file order."""
    v.add("oversized_ascii", "4097 characters", "A" * 4097, ErrorCode.PAYLOAD_TOO_LARGE)
    v.add("oversized_utf8", "2100 characters but 4200 UTF-8 bytes", "é" * 2100, ErrorCode.PAYLOAD_TOO_LARGE)
    v.add(
        "oversized_valid_looking",
        "a real envelope padded past 4096 bytes",
        envelope([1, "hmac-1", b"\0" * 32, b"\0" * 3100]),
        ErrorCode.PAYLOAD_TOO_LARGE,
    )
    v.add("non_ascii_small", "short payload with non-ASCII characters", "lAGmaG1hYy0x" + "é", ErrorCode.MALFORMED)
    v.add("empty_payload", "empty string", "", ErrorCode.MALFORMED)
    v.add("bad_base64_char", "a character outside the alphabet", "!" + OK_HMAC[1:], ErrorCode.MALFORMED)
    v.add("base64_whitespace", "a line break inside", OK_HMAC[:40] + "\n" + OK_HMAC[40:], ErrorCode.MALFORMED)
    v.add(
        "base64url_alphabet",
        "URL-safe alphabet instead of standard",
        b64(pack([1, "hmac-1", b"\xfb\xff" * 16, b"\xfe"])).replace("+", "-").replace("/", "_"),
        ErrorCode.MALFORMED,
    )
    noncanon = envelope([1, "hmac-1", b"\0" * 32, b"\x80"])
    assert noncanon.endswith("=")
    v.add("base64_missing_padding", "padding stripped", noncanon.rstrip("="), ErrorCode.MALFORMED)
    last = noncanon.rstrip("=")
    flipped = (
        last[:-1]
        + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".index(last[-1]) | 1
        ]
    )
    v.add(
        "base64_noncanonical",
        "non-zero unused bits in the last character",
        flipped + noncanon[len(last) :],
        ErrorCode.MALFORMED,
    )
    raw_ok = base64.b64decode(OK_HMAC)
    v.add("truncated", "a valid payload cut short (still valid base64)", b64(raw_ok[:-10]), ErrorCode.MALFORMED)
    v.add("trailing_bytes", "a second msgpack value after the envelope", b64(raw_ok + b"\xc0"), ErrorCode.MALFORMED)
    v.add("lone_surrogate", "a lone UTF-16 surrogate", "\ud800AAA", ErrorCode.MALFORMED)
