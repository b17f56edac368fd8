"""Every numeric limit spec.md states, one named constant each, in one place.

vectors/v1.json carries them as ``"limits"`` (the lower-case constant names, see :data:`LIMITS`), and the tests
check this module against that file, so the JS client can check its own constants against the same table.
"""

from __future__ import annotations

from typing import Final

# §2 Transport
MAX_PAYLOAD_BYTES: Final = 4096
MAX_ACK_BYTES: Final = 4096
MAX_REFUSAL_MESSAGE_BYTES: Final = 256
# §3 Envelope (msgpack's C unpacker stops at this depth; the vectors body_depth_1024/1025 pin it)
MAX_KEY_ID_BYTES: Final = 64
MAX_CONTAINER_ITEMS: Final = 16
MAX_NESTING_DEPTH: Final = 1024
# §4 Body
MIN_REQUEST_ID_CHARS: Final = 22
MAX_REQUEST_ID_CHARS: Final = 64
UINT32_MAX: Final = 2**32 - 1
MAX_ROOM_BYTES: Final = 256
MAX_TARGET_BYTES: Final = 256
MAX_REASON_BYTES: Final = 512
MAX_ISSUER_BYTES: Final = 128
MAX_GRACE_MS: Final = 60_000
# §5 Signatures
MIN_HMAC_SECRET_BYTES: Final = 32
HMAC_TAG_BYTES: Final = 32
ED25519_SIGNATURE_BYTES: Final = 64
ED25519_KEY_BYTES: Final = 32
# §6 Time
MAX_LIFETIME_S: Final = 300
DEFAULT_SKEW_S: Final = 30
DEFAULT_LIFETIME_S: Final = 60
# §7.1 Replay memory (the reference implementations' capacity)
DEFAULT_REPLAY_CAPACITY: Final = 4096

LIMITS: Final[dict[str, int]] = {
    "max_payload_bytes": MAX_PAYLOAD_BYTES,
    "max_ack_bytes": MAX_ACK_BYTES,
    "max_refusal_message_bytes": MAX_REFUSAL_MESSAGE_BYTES,
    "max_key_id_bytes": MAX_KEY_ID_BYTES,
    "max_container_items": MAX_CONTAINER_ITEMS,
    "max_nesting_depth": MAX_NESTING_DEPTH,
    "min_request_id_chars": MIN_REQUEST_ID_CHARS,
    "max_request_id_chars": MAX_REQUEST_ID_CHARS,
    "uint32_max": UINT32_MAX,
    "max_room_bytes": MAX_ROOM_BYTES,
    "max_target_bytes": MAX_TARGET_BYTES,
    "max_reason_bytes": MAX_REASON_BYTES,
    "max_issuer_bytes": MAX_ISSUER_BYTES,
    "max_grace_ms": MAX_GRACE_MS,
    "min_hmac_secret_bytes": MIN_HMAC_SECRET_BYTES,
    "hmac_tag_bytes": HMAC_TAG_BYTES,
    "ed25519_signature_bytes": ED25519_SIGNATURE_BYTES,
    "ed25519_key_bytes": ED25519_KEY_BYTES,
    "max_lifetime_s": MAX_LIFETIME_S,
    "default_skew_s": DEFAULT_SKEW_S,
    "default_lifetime_s": DEFAULT_LIFETIME_S,
    "default_replay_capacity": DEFAULT_REPLAY_CAPACITY,
}
"""Spec limits by name (the constant's name in lower case), in spec order: what vectors/v1.json ``limits`` holds."""
