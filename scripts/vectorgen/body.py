"""§4 Body: the signed body decoded strictly, then every schema rule (all signed with hmac-1 to get there)."""

from __future__ import annotations

from shutdown_rpc.protocol import ErrorCode

from .builder import (
    IAT,
    Builder,
    body,
    pack,
    patch,
    sb,
)


def add(v: Builder) -> None:
    """Append this section's cases to ``v``, in file order."""
    v.add("body_not_msgpack", "signed body that is not msgpack", sb(b"\xc1"), ErrorCode.MALFORMED)
    v.add("body_trailing", "signed body with a trailing byte", sb(pack(body(30)) + b"\xc0"), ErrorCode.MALFORMED)
    v.add(
        "body_ext",
        "ext type as a value",
        sb(patch(pack(body(31)), pack("reason") + pack(body(31)["reason"]), pack("reason") + b"\xd4\x01\x00")),
        ErrorCode.MALFORMED,
    )
    v.add(
        "body_timestamp",
        "msgpack timestamp (ext -1) as issued_at",
        sb(
            patch(
                pack(body(32)), pack("issued_at") + pack(IAT), pack("issued_at") + b"\xd6\xff" + IAT.to_bytes(4, "big")
            )
        ),
        ErrorCode.MALFORMED,
    )
    v.add(
        "body_non_utf8",
        "reason str with invalid UTF-8",
        sb(patch(pack(body(33, reason="ab")), b"\xa6reason\xa2ab", b"\xa6reason\xa2\xff\xfe")),
        ErrorCode.MALFORMED,
    )
    dup_key = b"\x89" + pack(body(34))[1:] + pack("reason") + pack("dup")
    v.add("body_duplicate_key", "the key reason twice", sb(dup_key), ErrorCode.MALFORMED)
    bin_key = patch(pack(body(35)), b"\xa6issuer", b"\xc4\x06issuer")
    v.add("body_bin_key", "a bin map key", sb(bin_key), ErrorCode.MALFORMED)
    v.add("body_array", "body is an array", sb(pack([1, 2, 3])), ErrorCode.INVALID_REQUEST)
    v.add("body_deep_nesting", "200 nested arrays", sb(b"\x91" * 200 + b"\xc0"), ErrorCode.INVALID_REQUEST)
    v.add("body_nil_key", "a nil map key", sb(b"\x81\xc0\x01"), ErrorCode.MALFORMED)
    v.add(
        "grace_ms_float",
        "grace_ms as 0.0",
        sb(pack(body(57, options={"drain": False, "grace_ms": 0.0, "delete_room": False}))),
        ErrorCode.INVALID_REQUEST,
    )
    v.add("body_nil", "body is nil", sb(pack(None)), ErrorCode.INVALID_REQUEST)
    v.add("missing_issuer", "issuer missing", sb(pack(body(36, issuer=...))), ErrorCode.INVALID_REQUEST)
    v.add("missing_issued_at", "issued_at missing", sb(pack(body(37, issued_at=...))), ErrorCode.INVALID_REQUEST)
    v.add("missing_request_id", "request_id missing", sb(pack(body(38, request_id=...))), ErrorCode.INVALID_REQUEST)
    v.add("extra_field", "an unknown top-level key", sb(pack({**body(39), "priority": 1})), ErrorCode.INVALID_REQUEST)
    v.add(
        "extra_option",
        "an unknown option",
        sb(pack(body(40, options={"drain": False, "grace_ms": 0, "delete_room": False, "force": True}))),
        ErrorCode.INVALID_REQUEST,
    )
    v.add(
        "missing_option",
        "options without delete_room",
        sb(pack(body(41, options={"drain": False, "grace_ms": 0}))),
        ErrorCode.INVALID_REQUEST,
    )
    v.add(
        "drain_int",
        "drain as 1",
        sb(pack(body(42, options={"drain": 1, "grace_ms": 0, "delete_room": False}))),
        ErrorCode.INVALID_REQUEST,
    )
    v.add("issued_at_str", "issued_at as a string", sb(pack(body(43, issued_at=str(IAT)))), ErrorCode.INVALID_REQUEST)
    v.add(
        "issued_at_float", "issued_at as a float", sb(pack(body(44, issued_at=float(IAT)))), ErrorCode.INVALID_REQUEST
    )
    v.add("issued_at_negative", "issued_at negative", sb(pack(body(45, issued_at=-1))), ErrorCode.INVALID_REQUEST)
    v.add("expires_uint64", "expires_at beyond uint32", sb(pack(body(46, expires_at=2**40))), ErrorCode.INVALID_REQUEST)
    v.add(
        "expires_before_issued",
        "expires_at == issued_at",
        sb(pack(body(47, expires_at=IAT))),
        ErrorCode.INVALID_REQUEST,
    )
    v.add(
        "grace_over_max",
        "grace_ms 60001",
        sb(pack(body(48, options={"drain": True, "grace_ms": 60001, "delete_room": False}))),
        ErrorCode.INVALID_REQUEST,
    )
    v.add(
        "reason_513_bytes",
        "reason of 513 UTF-8 bytes (257 characters)",
        sb(pack(body(49, reason="é" * 256 + "x"))),
        ErrorCode.INVALID_REQUEST,
    )
    v.add(
        "reason_control_char",
        "reason with a line feed",
        sb(pack(body(50, reason="line\nbreak"))),
        ErrorCode.INVALID_REQUEST,
    )
    v.add("issuer_empty", "empty issuer", sb(pack(body(51, issuer=""))), ErrorCode.INVALID_REQUEST)
    v.add(
        "request_id_short",
        "request id of 21 characters",
        sb(pack(body(52, request_id="A" * 21))),
        ErrorCode.INVALID_REQUEST,
    )
    v.add(
        "request_id_charset",
        "request id with '+'",
        sb(pack(body(53, request_id="A" * 21 + "+"))),
        ErrorCode.INVALID_REQUEST,
    )
    v.add("request_id_int", "request id as an int", sb(pack(body(54, request_id=12345))), ErrorCode.INVALID_REQUEST)
    v.add("room_empty", "empty room", sb(pack(body(55, room=""))), ErrorCode.INVALID_REQUEST)
    v.add(
        "room_257_bytes", "room of 257 UTF-8 bytes", sb(pack(body(56, room="é" * 128 + "x"))), ErrorCode.INVALID_REQUEST
    )
