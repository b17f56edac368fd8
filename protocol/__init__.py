"""Sans-IO core of the shutdown RPC protocol (spec.md): bytes and a clock in, decisions out.

No LiveKit import and no I/O. Callers sign with :func:`sign_request`; agents decide with :class:`Verifier`;
every refusal is a :class:`ShutdownRpcError` carrying an :class:`ErrorCode`.
"""

from ._limits import (
    DEFAULT_LIFETIME_S,
    DEFAULT_REPLAY_CAPACITY,
    DEFAULT_SKEW_S,
    LIMITS,
    MAX_ACK_BYTES,
    MAX_GRACE_MS,
    MAX_ISSUER_BYTES,
    MAX_LIFETIME_S,
    MAX_PAYLOAD_BYTES,
    MAX_REASON_BYTES,
    MAX_ROOM_BYTES,
    MAX_TARGET_BYTES,
)
from .ack import Ack, AckStatus, parse_refusal, refusal_data, refusal_message
from .clock import Clock, FixedClock, SystemClock
from .discovery import (
    ATTR_KEY_IDS,
    ATTR_METHOD,
    ATTR_VERSIONS,
    ATTRIBUTE_PREFIX,
    Advertisement,
    advertisement_attributes,
    parse_advertisement,
)
from .envelope import METHOD_NAME, SUPPORTED_VERSIONS, VERSION, Envelope, unpack_envelope
from .errors import CODE_INFO, ErrorCode, ShutdownRpcError, code_table
from .keyfile import AnyKey, dump_key, parse_key, signing_key_of, verifying_key_of
from .keys import (
    Algorithm,
    Ed25519SigningKey,
    Ed25519VerifyingKey,
    HmacSha256Key,
    KeyRing,
    SigningKey,
    VerifyingKey,
)
from .replay import ReplayCache
from .schema import ANY_AGENT, ShutdownOptions, ShutdownRequest
from .signing import build_request, encode_body, new_request_id, seal, sign_request, unsigned_request
from .verification import Binding, DuplicateRequest, VerifiedRequest, Verifier

__all__ = [
    "ANY_AGENT",
    "ATTRIBUTE_PREFIX",
    "ATTR_KEY_IDS",
    "ATTR_METHOD",
    "ATTR_VERSIONS",
    "CODE_INFO",
    "DEFAULT_LIFETIME_S",
    "DEFAULT_REPLAY_CAPACITY",
    "DEFAULT_SKEW_S",
    "LIMITS",
    "MAX_ACK_BYTES",
    "MAX_GRACE_MS",
    "MAX_ISSUER_BYTES",
    "MAX_LIFETIME_S",
    "MAX_PAYLOAD_BYTES",
    "MAX_REASON_BYTES",
    "MAX_ROOM_BYTES",
    "MAX_TARGET_BYTES",
    "METHOD_NAME",
    "SUPPORTED_VERSIONS",
    "VERSION",
    "Ack",
    "AckStatus",
    "Advertisement",
    "Algorithm",
    "AnyKey",
    "Binding",
    "Clock",
    "DuplicateRequest",
    "Ed25519SigningKey",
    "Ed25519VerifyingKey",
    "Envelope",
    "ErrorCode",
    "FixedClock",
    "HmacSha256Key",
    "KeyRing",
    "ReplayCache",
    "ShutdownOptions",
    "ShutdownRequest",
    "ShutdownRpcError",
    "SigningKey",
    "SystemClock",
    "VerifiedRequest",
    "Verifier",
    "VerifyingKey",
    "advertisement_attributes",
    "build_request",
    "code_table",
    "dump_key",
    "encode_body",
    "new_request_id",
    "parse_advertisement",
    "parse_key",
    "parse_refusal",
    "refusal_data",
    "refusal_message",
    "seal",
    "sign_request",
    "signing_key_of",
    "unpack_envelope",
    "unsigned_request",
    "verifying_key_of",
]
