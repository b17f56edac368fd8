"""Regenerate vectors/v1.json deterministically (fixed keys, clock and request ids).

Usage: python scripts/gen_vectors.py [--check]   (--check: exit 1 if the committed file differs)
Outcomes are computed by the reference verifier and each case also states the outcome it is *meant* to have;
the script refuses to write a file where the two disagree.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import msgpack

from shutdown_rpc.protocol import (
    LIMITS,
    Ed25519SigningKey,
    ErrorCode,
    HmacSha256Key,
    KeyRing,
    ShutdownRequest,
    VerifyingKey,
    code_table,
    encode_body,
    seal,
    sign_request,
)
from shutdown_rpc.protocol.envelope import signed_message

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "vectors" / "v1.json"
sys.path.insert(0, str(ROOT))  # the outcome of every case comes from the same runner the tests use

from tests.protocol.vectors import run_case  # noqa: E402

HMAC_1 = HmacSha256Key("hmac-1", hashlib.sha256(b"vector key hmac-1").digest())
HMAC_2 = HmacSha256Key("hmac-2", hashlib.sha256(b"vector key hmac-2").digest() * 2)
ED_1 = Ed25519SigningKey.from_seed("ed-1", hashlib.sha256(b"vector key ed-1").digest())
ROGUE = HmacSha256Key("rogue-1", hashlib.sha256(b"a key the agent does not have").digest())
RING_KEYS: list[VerifyingKey] = [HMAC_1, HMAC_2, ED_1.verifying_key()]

IAT = 1_800_000_000
NOW_MS = IAT * 1000 + 5_000
ROOM = "support-room-42"
AGENT = "agent-AJ_vector1"
JOB = "AJ_vector1"
BINDING = {"room": ROOM, "agent_identity": AGENT, "job_id": JOB, "allow_any_agent": False, "allow_unsigned": False}


def rid(n: int) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(f"request {n}".encode()).digest()[:16]).rstrip(b"=").decode()


def body(n: int, **changes: Any) -> dict[str, Any]:
    """A valid body map (spec field order) with ``changes`` applied; a value of ... removes the key."""
    base: dict[str, Any] = {
        "request_id": rid(n),
        "issued_at": IAT,
        "expires_at": IAT + 60,
        "room": ROOM,
        "target": AGENT,
        "reason": "session ended by the operator",
        "issuer": "billing-backend",
        "options": {"drain": False, "grace_ms": 0, "delete_room": False},
    }
    for key, value in changes.items():
        if value is ...:
            base.pop(key)
        else:
            base[key] = value
    return base


def pack(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


def patch(raw: bytes, old: bytes, new: bytes) -> bytes:
    """Replace the one occurrence of ``old`` (which must be there) in msgpack bytes."""
    if raw.count(old) != 1:
        raise SystemExit(f"patch target {old!r} not found exactly once")
    return raw.replace(old, new)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def envelope(items: Any) -> str:
    return b64(pack(items))


def signed(key: HmacSha256Key | Ed25519SigningKey, raw_body: bytes) -> str:
    return seal(raw_body, key)


class Builder:
    def __init__(self) -> None:
        self.cases: list[dict[str, Any]] = []

    def add(
        self,
        name: str,
        description: str,
        payload: str,
        expect: str | ErrorCode,
        *,
        now_ms: int = NOW_MS,
        binding: dict[str, Any] | None = None,
        prior: list[str] | None = None,
        build: dict[str, Any] | None = None,
    ) -> None:
        self.cases.append(
            {
                "name": name,
                "description": description,
                "now_ms": now_ms,
                "binding": {**BINDING, **(binding or {})},
                "prior": prior or [],
                **({"build": build} if build is not None else {}),
                "payload": payload,
                "_expect": expect,
            }
        )

    def valid(
        self,
        name: str,
        description: str,
        key: HmacSha256Key | Ed25519SigningKey | None,
        fields: dict[str, Any],
        **kw: Any,
    ) -> str:
        request = ShutdownRequest.model_validate(fields)
        payload = sign_request(request, key) if key is not None else seal(encode_body(request), None)
        self.add(
            name,
            description,
            payload,
            "accepted",
            build={"key_id": key.key_id if key is not None else None, "request": fields},
            **kw,
        )
        return payload


def cases() -> list[dict[str, Any]]:
    v = Builder()
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
        "request_id_conflict",
        "same request id, other content",
        sign_request(ShutdownRequest.model_validate(body(1, reason="another reason")), HMAC_1),
        ErrorCode.REQUEST_ID_CONFLICT,
        prior=[ok_hmac],
    )

    # transport
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
    v.add("bad_base64_char", "a character outside the alphabet", "!" + ok_hmac[1:], ErrorCode.MALFORMED)
    v.add("base64_whitespace", "a line break inside", ok_hmac[:40] + "\n" + ok_hmac[40:], ErrorCode.MALFORMED)
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
    raw_ok = base64.b64decode(ok_hmac)
    v.add("truncated", "a valid payload cut short (still valid base64)", b64(raw_ok[:-10]), ErrorCode.MALFORMED)
    v.add("trailing_bytes", "a second msgpack value after the envelope", b64(raw_ok + b"\xc0"), ErrorCode.MALFORMED)
    v.add("lone_surrogate", "a lone UTF-16 surrogate", "\ud800AAA", ErrorCode.MALFORMED)

    # envelope
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

    # keys and signatures
    v.add("unknown_key", "key id not in the ring", signed(ROGUE, pack(body(24))), ErrorCode.UNKNOWN_KEY)
    ed_body = pack(body(25))
    ed_sig = ED_1.sign(signed_message(1, "hmac-1", ed_body))
    v.add(
        "ed25519_sig_on_hmac_key",
        "64-byte Ed25519 signature under an HMAC key id",
        envelope([1, "hmac-1", ed_sig, ed_body]),
        ErrorCode.BAD_SIGNATURE,
    )
    hmac_tag = HMAC_1.sign(signed_message(1, "ed-1", ed_body))
    v.add(
        "hmac_tag_on_ed25519_key",
        "32-byte HMAC tag under an Ed25519 key id (HMAC keyed with anything)",
        envelope([1, "ed-1", hmac_tag, ed_body]),
        ErrorCode.BAD_SIGNATURE,
    )
    pubkey_as_secret = HmacSha256Key("ed-1", ED_1.verifying_key().raw_public_bytes())
    v.add(
        "hmac_keyed_with_public_key",
        "HMAC tag keyed with the Ed25519 public key (algorithm confusion)",
        signed(pubkey_as_secret, ed_body),
        ErrorCode.BAD_SIGNATURE,
    )
    good_tag = HMAC_1.sign(signed_message(1, "hmac-1", ed_body))
    v.add("signature_empty", "empty signature", envelope([1, "hmac-1", b"", ed_body]), ErrorCode.BAD_SIGNATURE)
    v.add(
        "signature_short",
        "31-byte tag (the right one, cut)",
        envelope([1, "hmac-1", good_tag[:31], ed_body]),
        ErrorCode.BAD_SIGNATURE,
    )
    v.add(
        "signature_long",
        "33-byte tag (the right one, extended)",
        envelope([1, "hmac-1", good_tag + b"\0", ed_body]),
        ErrorCode.BAD_SIGNATURE,
    )
    v.add(
        "signature_wrong",
        "one bit flipped",
        envelope([1, "hmac-1", bytes([good_tag[0] ^ 1]) + good_tag[1:], ed_body]),
        ErrorCode.BAD_SIGNATURE,
    )
    altered = pack(body(25, reason="session ended by the operatoR"))
    v.add(
        "body_altered",
        "body changed after signing",
        envelope([1, "hmac-1", good_tag, altered]),
        ErrorCode.BAD_SIGNATURE,
    )
    v.add(
        "key_id_swapped",
        "hmac-2's valid tag relabelled as hmac-1",
        envelope([1, "hmac-1", HMAC_2.sign(signed_message(1, "hmac-2", ed_body)), ed_body]),
        ErrorCode.BAD_SIGNATURE,
    )
    v.add(
        "no_domain_separator",
        "HMAC over the body alone",
        envelope([1, "hmac-1", HMAC_1.sign(ed_body), ed_body]),
        ErrorCode.BAD_SIGNATURE,
    )
    ed_good = ED_1.sign(signed_message(1, "ed-1", ed_body))
    v.add(
        "ed25519_wrong",
        "Ed25519 signature with one bit flipped",
        envelope([1, "ed-1", ed_good[:-1] + bytes([ed_good[-1] ^ 0x40]), ed_body]),
        ErrorCode.BAD_SIGNATURE,
    )

    # body (all signed with hmac-1 so that they reach the body checks)
    def sb(raw: bytes) -> str:
        return signed(HMAC_1, raw)

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

    # time
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

    # binding and policy
    v.add("wrong_room", "bound to another room", sb(pack(body(70, room="other-room"))), ErrorCode.WRONG_ROOM)
    v.add("wrong_target", "bound to another agent", sb(pack(body(71, target="agent-AJ_other"))), ErrorCode.WRONG_TARGET)
    v.add(
        "any_agent_not_allowed",
        "target '*' without the any-agent policy",
        sb(pack(body(72, target="*"))),
        ErrorCode.NOT_AUTHORIZED,
    )
    v.add(
        "wrong_room_and_target",
        "both wrong: room is checked first",
        sb(pack(body(73, room="other-room", target="someone"))),
        ErrorCode.WRONG_ROOM,
    )
    v.add(
        "schema_before_room",
        "wrong room and an invalid option: schema first",
        sb(pack(body(74, room="other-room", options={"drain": "yes", "grace_ms": 0, "delete_room": False}))),
        ErrorCode.INVALID_REQUEST,
    )
    # from the security review: padding, nesting depth, characters that could forge log lines or reasons
    v.add("base64_excess_padding", "'====' after a full quantum", "AAAA====", ErrorCode.MALFORMED)
    v.add("base64_padding_after_payload", "a valid payload followed by '===='", ok_hmac + "====", ErrorCode.MALFORMED)
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
    return v.cases


def generate() -> dict[str, Any]:
    out_cases = []
    for case in cases():
        expect = case.pop("_expect")
        result = run_case(case, KeyRing(RING_KEYS), skew_s=30, max_lifetime_s=300)
        wanted = expect if isinstance(expect, str) else "refused"
        if result["outcome"] != wanted or (isinstance(expect, ErrorCode) and result["code"] != int(expect)):
            raise SystemExit(f"{case['name']}: meant {expect!r}, reference verifier says {result}")
        out_cases.append({**case, "expected": result})
    keys: list[dict[str, str]] = [
        {"key_id": HMAC_1.key_id, "algorithm": "hmac-sha256", "secret_hex": HMAC_1.secret.hex()},
        {"key_id": HMAC_2.key_id, "algorithm": "hmac-sha256", "secret_hex": HMAC_2.secret.hex()},
        {
            "key_id": ED_1.key_id,
            "algorithm": "ed25519",
            "seed_hex": ED_1.seed_bytes().hex(),
            "public_hex": ED_1.verifying_key().raw_public_bytes().hex(),
        },
    ]
    return {
        "spec_version": 1,
        "method": "shutdown_rpc.shutdown",
        "max_payload_bytes": 4096,
        "skew_s": 30,
        "max_lifetime_s": 300,
        "codes": code_table(),
        "limits": dict(LIMITS),
        "keys": keys,
        "cases": out_cases,
    }


def render() -> str:
    return json.dumps(generate(), indent=1, ensure_ascii=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare with the committed file instead of writing")
    args = parser.parse_args()
    text = render()
    if args.check:
        if OUT.read_text() != text:
            print(f"{OUT} is stale: run python scripts/gen_vectors.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT} ({len(json.loads(text)['cases'])} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
