"""§3 Envelope: strict msgpack, the version first, then the v1 shape and key id; unsigned envelopes."""

from __future__ import annotations

from shutdown_rpc.protocol import ErrorCode
from shutdown_rpc.protocol.wire import seal

from .builder import (
    Builder,
    b64,
    body,
    envelope,
    pack,
)


def add(v: Builder) -> None:
    """Append this section's cases to ``v``, in file order."""
    v.add("envelope_map", "envelope is a map", envelope({"v": 1}), ErrorCode.MALFORMED)
    v.add("envelope_empty", "envelope is an empty array", envelope([]), ErrorCode.MALFORMED)
    v.add("version_string", "version is a string", envelope(["1", "hmac-1", b"", b""]), ErrorCode.MALFORMED)
    v.add("version_bool", "version is true", envelope([True, "hmac-1", b"", b""]), ErrorCode.MALFORMED)
    v.add(
        "version_2",
        "unsupported version 2",
        envelope([2, "hmac-1", b"\0" * 32, pack(body(20))]),
        ErrorCode.UNSUPPORTED_VERSION,
    )
    v.add("version_0", "unsupported version 0", envelope([0]), ErrorCode.UNSUPPORTED_VERSION)
    v.add(
        "envelope_five",
        "v1 envelope with 5 elements",
        envelope([1, "hmac-1", b"\0" * 32, pack(body(21)), 0]),
        ErrorCode.MALFORMED,
    )
    v.add("envelope_three", "v1 envelope with 3 elements", envelope([1, "hmac-1", b"\0" * 32]), ErrorCode.MALFORMED)
    v.add("key_id_bin", "key id as bin", envelope([1, b"hmac-1", b"\0" * 32, pack(body(22))]), ErrorCode.MALFORMED)
    v.add("signature_str", "signature as str", envelope([1, "hmac-1", "x" * 32, pack(body(22))]), ErrorCode.MALFORMED)
    v.add("body_str", "body as str", envelope([1, "hmac-1", b"\0" * 32, "body"]), ErrorCode.MALFORMED)
    v.add(
        "key_id_charset",
        "key id with a space",
        envelope([1, "hmac 1", b"\0" * 32, pack(body(22))]),
        ErrorCode.MALFORMED,
    )
    v.add(
        "key_id_too_long",
        "key id of 65 characters",
        envelope([1, "k" * 65, b"\0" * 32, pack(body(22))]),
        ErrorCode.MALFORMED,
    )
    v.add(
        "key_id_non_utf8",
        "key id str with invalid UTF-8",
        b64(b"\x94\x01\xa2\xc3\x28\xc4\x20" + b"\0" * 32 + b"\xc4\x01\x80"),
        ErrorCode.MALFORMED,
    )
    v.add(
        "envelope_ext",
        "ext type inside the envelope",
        b64(b"\x94\x01\xd4\x05\x00\xc4\x00\xc4\x00"),
        ErrorCode.MALFORMED,
    )
    v.add("array_over_16", "17-element array", envelope([1] * 17), ErrorCode.MALFORMED)
    v.add("version_negative", "version -1", envelope([-1, "hmac-1", b"\0" * 32, b""]), ErrorCode.UNSUPPORTED_VERSION)
    v.add(
        "version_uint64", "version 2**40", envelope([2**40, "hmac-1", b"\0" * 32, b""]), ErrorCode.UNSUPPORTED_VERSION
    )
    v.add(
        "version_float",
        "version 1.0 (a float is never an int)",
        envelope([1.0, "hmac-1", b"\0" * 32, b""]),
        ErrorCode.MALFORMED,
    )
    v.add(
        "envelope_version_only",
        "[2]: the version is read before the length",
        envelope([2]),
        ErrorCode.UNSUPPORTED_VERSION,
    )
    v.add(
        "lone_surrogates_oversized",
        "1400 lone surrogates: 4200 UTF-8 bytes",
        "\ud800" * 1400,
        ErrorCode.PAYLOAD_TOO_LARGE,
    )
    v.add(
        "unsigned_refused",
        "unsigned where the policy does not allow it",
        seal(pack(body(23)), None),
        ErrorCode.UNSIGNED_REFUSED,
    )
    v.add(
        "unsigned_with_signature",
        "empty key id but a signature",
        envelope([1, "", b"\0" * 32, pack(body(23))]),
        ErrorCode.MALFORMED,
    )
