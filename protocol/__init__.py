"""Sans-IO core of the shutdown RPC protocol (spec.md): bytes and a clock in, decisions out.

No LiveKit import and no I/O. Callers sign with :func:`sign_request`; agents decide with :class:`Verifier`
(accepting a :class:`VerifiedRequest` records it); tools look inside a payload with :func:`inspect_payload`.
Every refusal is a :class:`ShutdownRpcError` carrying an :class:`ErrorCode`. The spec's numbers are in
:data:`LIMITS` (and the constants below); the code table in :data:`CODE_INFO` / :func:`code_table`.
"""

from ._ack import Ack, AckStatus, parse_refusal, refusal_data, refusal_message
from ._clock import Clock, FixedClock, SystemClock
from ._discovery import (
    ATTR_KEY_IDS,
    ATTR_METHOD,
    ATTR_VERSIONS,
    ATTRIBUTE_PREFIX,
    Advertisement,
    advertisement_attributes,
    parse_advertisement,
)
from ._ending import (
    ATTR_ISSUER,
    ATTR_REASON,
    ATTR_REQUEST_ID,
    ATTR_STATE,
    RECEIPT_METHOD,
    STATE_ENDING,
    Ending,
    ending_attributes,
    parse_ending,
)
from ._envelope import METHOD_NAME, SUPPORTED_VERSIONS, VERSION, Envelope, signed_message, unpack_envelope
from ._errors import CODE_INFO, ErrorCode, ShutdownRpcError, code_table
from ._inspect import PayloadInspection, inspect_payload
from ._keyfile import MAX_KEY_FILE_BYTES, AnyKey, dump_key, parse_key, signing_key_of, verifying_key_of
from ._keys import (
    Ed25519SigningKey,
    Ed25519VerifyingKey,
    HmacSha256Key,
    KeyRing,
    SigningKey,
    VerifyingKey,
)
from ._limits import (
    DEFAULT_LIFETIME_S,
    DEFAULT_REPLAY_CAPACITY,
    DEFAULT_SKEW_S,
    LIMITS,
    MAX_GRACE_MS,
    MAX_LIFETIME_S,
    MAX_PAYLOAD_BYTES,
)
from ._receipt_token import is_receipt_for, is_receipt_token, new_receipt_token
from ._replay import ReplayCache, Reservation
from ._schema import ANY_AGENT, ShutdownOptions, ShutdownRequest
from ._signing import build_request, encode_body, new_request_id, seal, sign_request, unsigned_request
from ._verification import Binding, DuplicateRequest, VerifiedRequest, Verifier

__all__ = [
    "ANY_AGENT",
    "ATTRIBUTE_PREFIX",
    "ATTR_ISSUER",
    "ATTR_KEY_IDS",
    "ATTR_METHOD",
    "ATTR_REASON",
    "ATTR_REQUEST_ID",
    "ATTR_STATE",
    "ATTR_VERSIONS",
    "CODE_INFO",
    "DEFAULT_LIFETIME_S",
    "DEFAULT_REPLAY_CAPACITY",
    "DEFAULT_SKEW_S",
    "LIMITS",
    "MAX_GRACE_MS",
    "MAX_KEY_FILE_BYTES",
    "MAX_LIFETIME_S",
    "MAX_PAYLOAD_BYTES",
    "METHOD_NAME",
    "RECEIPT_METHOD",
    "STATE_ENDING",
    "SUPPORTED_VERSIONS",
    "VERSION",
    "Ack",
    "AckStatus",
    "Advertisement",
    "AnyKey",
    "Binding",
    "Clock",
    "DuplicateRequest",
    "Ed25519SigningKey",
    "Ed25519VerifyingKey",
    "Ending",
    "Envelope",
    "ErrorCode",
    "FixedClock",
    "HmacSha256Key",
    "KeyRing",
    "PayloadInspection",
    "ReplayCache",
    "Reservation",
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
    "ending_attributes",
    "inspect_payload",
    "is_receipt_for",
    "is_receipt_token",
    "new_receipt_token",
    "new_request_id",
    "parse_advertisement",
    "parse_ending",
    "parse_key",
    "parse_refusal",
    "refusal_data",
    "refusal_message",
    "seal",
    "sign_request",
    "signed_message",
    "signing_key_of",
    "unpack_envelope",
    "unsigned_request",
    "verifying_key_of",
]
