"""Sans-IO core of the shutdown RPC protocol (spec.md): bytes and a clock in, decisions out.

No LiveKit import and no I/O. Callers build a request with :func:`build_request` and sign it with
:func:`sign_request`; agents decide with :class:`Verifier` (accepting a :class:`VerifiedRequest` records it).
Every refusal is a :class:`ShutdownRpcError` carrying an :class:`ErrorCode` (:data:`CODE_INFO` says what each
means); the spec's numbers are in :data:`LIMITS`. Key files are read with :func:`parse_key_file`.

What an implementer of another language or a tool needs beyond this (the envelope, the replay memory, clocks,
attribute names, payload inspection) is in :mod:`shutdown_rpc.protocol.wire`.
"""

from ._ack import Acknowledgement, AckStatus
from ._errors import CODE_INFO, ErrorCode, ShutdownRpcError
from ._keyfile import dump_key_file, parse_key_file
from ._keys import (
    Ed25519SigningKey,
    Ed25519VerifyingKey,
    HmacSha256Key,
    KeyRing,
    SigningKey,
    VerifyingKey,
)
from ._limits import LIMITS
from ._schema import ANY_AGENT, ShutdownOptions, ShutdownRequest
from ._signing import build_request, new_request_id, sign_request
from ._verification import AgentBinding, DuplicateRequest, VerifiedRequest, Verifier

__all__ = [
    "ANY_AGENT",
    "CODE_INFO",
    "LIMITS",
    "AckStatus",
    "Acknowledgement",
    "AgentBinding",
    "DuplicateRequest",
    "Ed25519SigningKey",
    "Ed25519VerifyingKey",
    "ErrorCode",
    "HmacSha256Key",
    "KeyRing",
    "ShutdownOptions",
    "ShutdownRequest",
    "ShutdownRpcError",
    "SigningKey",
    "VerifiedRequest",
    "Verifier",
    "VerifyingKey",
    "build_request",
    "dump_key_file",
    "new_request_id",
    "parse_key_file",
    "sign_request",
]
