"""The wire-level pieces behind :mod:`shutdown_rpc.protocol`, for implementers of another language and for tools.

An application needs none of this: it signs with ``sign_request`` and verifies with ``Verifier``. Here are the
layers those are made of (spec.md): the v1 envelope and the exact bytes a signature covers (:func:`seal`,
:func:`signed_message`, :func:`unpack_envelope`), the replay memory (:class:`ReplayCache`), clocks, the RPC
method names, the participant attributes of discovery (spec §10) and of an ending agent, how a refusal travels
in an RpcError, and :func:`inspect_payload` for looking inside a payload without a key.
"""

from ._ack import parse_refusal, refusal_data, refusal_message
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
from ._ending_signals import (
    ATTR_ISSUER,
    ATTR_REASON,
    ATTR_REQUEST_ID,
    ATTR_STATE,
    RECEIPT_METHOD_NAME,
    STATE_ENDING,
    Ending,
    ending_attributes,
    parse_ending,
)
from ._envelope import (
    METHOD_NAME,
    PROTOCOL_VERSION,
    SUPPORTED_VERSIONS,
    Envelope,
    signed_message,
    unpack_envelope,
)
from ._errors import code_table
from ._inspect import PayloadInspection, inspect_payload
from ._keyfile import MAX_KEY_FILE_BYTES, AnyKey, signing_key_of, verifying_key_of
from ._receipt_token import is_receipt_for, is_receipt_token, new_receipt_token
from ._replay import ReplayCache, Reservation
from ._schema import REQUEST_ID_PATTERN
from ._signing import encode_body, seal, unsigned_request

__all__ = [
    "ATTRIBUTE_PREFIX",
    "ATTR_ISSUER",
    "ATTR_KEY_IDS",
    "ATTR_METHOD",
    "ATTR_REASON",
    "ATTR_REQUEST_ID",
    "ATTR_STATE",
    "ATTR_VERSIONS",
    "MAX_KEY_FILE_BYTES",
    "METHOD_NAME",
    "PROTOCOL_VERSION",
    "RECEIPT_METHOD_NAME",
    "REQUEST_ID_PATTERN",
    "STATE_ENDING",
    "SUPPORTED_VERSIONS",
    "Advertisement",
    "AnyKey",
    "Clock",
    "Ending",
    "Envelope",
    "FixedClock",
    "PayloadInspection",
    "ReplayCache",
    "Reservation",
    "SystemClock",
    "advertisement_attributes",
    "code_table",
    "encode_body",
    "ending_attributes",
    "inspect_payload",
    "is_receipt_for",
    "is_receipt_token",
    "new_receipt_token",
    "parse_advertisement",
    "parse_ending",
    "parse_refusal",
    "refusal_data",
    "refusal_message",
    "seal",
    "signed_message",
    "signing_key_of",
    "unpack_envelope",
    "unsigned_request",
    "verifying_key_of",
]
