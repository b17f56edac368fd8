"""Requests that verify (§4-§6 at their edges) and the replay memory (§7.1): duplicate, conflict."""

from __future__ import annotations

from base64 import b64decode

from shutdown_rpc.protocol import ErrorCode, ShutdownRequest, sign_request

from .builder import (
    ED_1,
    HMAC_1,
    HMAC_2,
    IAT,
    JOB,
    Builder,
    b64,
    body,
    pack,
    patch,
    signed,
)


def add(v: Builder) -> None:
    """Append this section's cases to ``v``, in file order."""
    ok_hmac = v.valid("hmac_accepted", "HMAC-SHA256 signed request, all defaults", HMAC_1, body(1))
    v.valid("ed25519_accepted", "Ed25519 signed request", ED_1, body(2))
    v.valid("rotated_key_accepted", "second live HMAC key (64-byte secret) in the ring", HMAC_2, body(3))
    v.valid("target_job_id", "target names the job id instead of the identity", HMAC_1, body(4, target=JOB))
    v.valid(
        "any_agent_allowed",
        "target '*' where the policy allows any agent",
        HMAC_1,
        body(5, target="*"),
        binding={"allow_any_agent": True},
    )
    v.valid(
        "options_all_set",
        "drain with grace and delete_room",
        ED_1,
        body(6, options={"drain": True, "grace_ms": 60000, "delete_room": True}),
    )
    v.valid(
        "unicode_reason",
        "non-ASCII reason and issuer (UTF-8)",
        HMAC_1,
        body(7, reason="Fin de séance — merci 👋", issuer="équipe-support"),
    )
    v.valid("empty_reason", "reason may be empty", HMAC_1, body(8, reason=""))
    v.valid("reason_leading_bom", "a reason starting with U+FEFF is kept as is", HMAC_1, body(18, reason="\ufeffbye"))
    v.valid("reason_512_bytes", "reason of exactly 512 UTF-8 bytes", HMAC_1, body(9, reason="é" * 256))
    v.valid("request_id_64", "request id of 64 characters", HMAC_1, body(10, request_id="a-_Z" * 16))
    v.valid("lifetime_300", "lifetime of exactly the maximum", HMAC_1, body(11, expires_at=IAT + 300))
    v.valid(
        "skew_early_edge", "agent clock 30 s behind issued_at: still valid", HMAC_1, body(12), now_ms=(IAT - 30) * 1000
    )
    v.valid(
        "skew_late_edge",
        "1 ms before expires_at + skew: still valid",
        HMAC_1,
        body(13),
        now_ms=(IAT + 60 + 30) * 1000 - 1,
    )
    v.valid(
        "unsigned_allowed",
        "unsigned request where the policy allows this caller",
        None,
        body(14),
        binding={"allow_unsigned": True},
    )
    long_room = "r" * 200 + "é" * 28
    v.valid(
        "room_256_bytes",
        "room name of exactly 256 UTF-8 bytes",
        HMAC_1,
        body(15, room=long_room),
        binding={"room": long_room},
    )
    non_minimal = patch(pack(body(16)), b"\xa9issued_at\xce", b"\xa9issued_at\xcf\x00\x00\x00\x00")
    v.add(
        "non_minimal_int_accepted",
        "issued_at as uint64: verifiers read what was signed",
        signed(HMAC_1, non_minimal),
        "accepted",
    )
    v.valid(
        "grace_ms_uint16",
        "grace_ms 1000: producers write uint16 cd 03 e8 (not int16 d1 03 e8)",
        HMAC_1,
        body(93, options={"drain": True, "grace_ms": 1000, "delete_room": False}),
    )
    v.valid(
        "grace_ms_uint16_low_edge",
        "grace_ms 256: the first uint16 value",
        ED_1,
        body(94, options={"drain": True, "grace_ms": 256, "delete_room": False}),
    )
    signed_form = patch(
        pack(body(95, options={"drain": True, "grace_ms": 1000, "delete_room": False})),
        b"\xa8grace_ms\xcd\x03\xe8",
        b"\xa8grace_ms\xd1\x03\xe8",
    )
    v.add(
        "grace_ms_signed_form_accepted",
        "grace_ms 1000 as int16 (a producer's signed form): verifiers read it; not byte-identical to a build",
        signed(HMAC_1, signed_form),
        "accepted",
    )
    iat_int32 = patch(pack(body(96)), b"\xa9issued_at\xce", b"\xa9issued_at\xd2")
    v.add(
        "issued_at_int32_accepted",
        "issued_at as int32 (signed form of a non-negative value): verifiers read it",
        signed(HMAC_1, iat_int32),
        "accepted",
    )
    ed_alt_order = pack(dict(reversed(list(body(17).items()))))
    v.add(
        "field_order_free",
        "body keys in another order: verifiers do not check order",
        signed(ED_1, ed_alt_order),
        "accepted",
    )

    v.add(
        "duplicate",
        "the same payload again: the first acknowledgement, status duplicate",
        ok_hmac,
        "duplicate",
        prior=[ok_hmac],
    )
    v.add(
        "duplicate_other_envelope_encoding",
        "the accepted envelope re-encoded with a str8 key id header: same signed message, answered duplicate",
        b64(patch(b64decode(ok_hmac), b"\xa6hmac-1", b"\xd9\x06hmac-1")),
        "duplicate",
        prior=[ok_hmac],
    )
    v.add(
        "request_id_conflict",
        "same request id, other content",
        sign_request(ShutdownRequest.model_validate(body(1, reason="another reason")), HMAC_1),
        ErrorCode.REQUEST_ID_CONFLICT,
        prior=[ok_hmac],
    )
