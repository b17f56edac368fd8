"""Cases from the security review: padding (§2), nesting depth (§3), characters that could forge log lines
or reasons (§4)."""

from __future__ import annotations

from shutdown_rpc.protocol import ErrorCode

from .builder import (
    HMAC_1,
    OK_HMAC,
    Builder,
    b64,
    body,
    pack,
    sb,
)


def add(v: Builder) -> None:
    """Append this section's cases to ``v``, in file order."""
    v.add("base64_excess_padding", "'====' after a full quantum", "AAAA====", ErrorCode.MALFORMED)
    v.add("base64_padding_after_payload", "a valid payload followed by '===='", OK_HMAC + "====", ErrorCode.MALFORMED)
    v.add(
        "body_depth_1024",
        "1024 nested arrays: the deepest allowed",
        sb(b"\x91" * 1024 + b"\xc0"),
        ErrorCode.INVALID_REQUEST,
    )
    v.add(
        "body_depth_1025", "1025 nested arrays: over the depth limit", sb(b"\x91" * 1025 + b"\xc0"), ErrorCode.MALFORMED
    )
    v.add(
        "envelope_too_deep",
        "[2, <1100 nested arrays>]: strict msgpack (depth) comes before the version",
        b64(b"\x92\x02" + b"\x91" * 1100 + b"\xc0"),
        ErrorCode.MALFORMED,
    )
    v.add(
        "reason_c1_control",
        "reason with U+0085 (C1 control)",
        sb(pack(body(58, reason="next\x85line"))),
        ErrorCode.INVALID_REQUEST,
    )
    v.add(
        "reason_bidi_override",
        "reason with U+202E (bidi override)",
        sb(pack(body(59, reason="abc\u202edef"))),
        ErrorCode.INVALID_REQUEST,
    )
    v.add(
        "issuer_bracket",
        "issuer with '[' (would make the shutdown reason ambiguous)",
        sb(pack(body(65, issuer="billing [x]"))),
        ErrorCode.INVALID_REQUEST,
    )
    v.valid("reason_with_brackets", "brackets are fine in the reason", HMAC_1, body(66, reason="closed [ticket 42]"))
    v.add(
        "reason_line_separator",
        "reason with U+2028 (a line break to many log viewers)",
        sb(pack(body(90, reason="one\u2028two"))),
        ErrorCode.INVALID_REQUEST,
    )
    v.add(
        "issuer_paragraph_separator",
        "issuer with U+2029 (a line break to many log viewers)",
        sb(pack(body(91, issuer="billing\u2029backend"))),
        ErrorCode.INVALID_REQUEST,
    )
    odd = "room\u2028\x85\u202e-7"
    v.valid(
        "room_and_target_any_characters",
        "room and target have no character rules: compared exactly with the agent's own",
        HMAC_1,
        body(92, room=odd, target=odd),
        binding={"room": odd, "agent_identity": odd},
    )
