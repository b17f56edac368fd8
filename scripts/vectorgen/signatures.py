"""§5 Signatures: unknown keys, the key ring fixing the algorithm, tags and signatures that do not verify."""

from __future__ import annotations

from shutdown_rpc.protocol import ErrorCode, HmacSha256Key
from shutdown_rpc.protocol.wire import signed_message

from .builder import (
    ED_1,
    HMAC_1,
    HMAC_2,
    ROGUE,
    Builder,
    body,
    envelope,
    pack,
    signed,
)

# The order L of the Ed25519 base point (RFC 8032 §5.1).
ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493


def add(v: Builder) -> None:
    """Append this section's cases to ``v``, in file order."""
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
    s_value = int.from_bytes(ed_good[32:], "little") + ED25519_ORDER
    v.add(
        "ed25519_non_canonical_s",
        "Ed25519 signature with S + L in place of S (RFC 8032 §5.1.7: S must be below L); lax verifiers accept it",
        envelope([1, "ed-1", ed_good[:32] + s_value.to_bytes(32, "little"), ed_body]),
        ErrorCode.BAD_SIGNATURE,
    )
