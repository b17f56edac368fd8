"""The transport layer of v1: payload string <-> base64 <-> msgpack envelope ``[version, key_id, sig, body]``.

Everything here is strict and bounded: the size is checked before any decoding, base64 must be canonical,
msgpack must be one complete value with no ext types and unique string map keys.
"""

from __future__ import annotations

import base64
import binascii
import sys
from typing import Any, NamedTuple

import msgpack

from ._errors import ErrorCode, ShutdownRpcError
from ._keys import KEY_ID_PATTERN
from ._limits import MAX_CONTAINER_ITEMS, MAX_PAYLOAD_BYTES

PROTOCOL_VERSION = 1
SUPPORTED_VERSIONS: tuple[int, ...] = (PROTOCOL_VERSION,)
METHOD_NAME = "shutdown_rpc.shutdown"
DOMAIN_SEPARATOR = b"livekit-shutdown-rpc\x00"


def _refuse_ext(code: int, data: bytes) -> Any:
    raise ValueError("msgpack ext types are not allowed")


def _unique_string_map(pairs: list[tuple[Any, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        raise ValueError("duplicate map key")
    # With raw=False and strict_map_key=True keys are str or bytes; join raises TypeError on bytes, at C speed.
    "".join(mapping)
    return mapping


def unpack_strict(data: bytes) -> Any:
    """Decode exactly one msgpack value under the spec's rules, or raise ShutdownRpcError(MALFORMED)."""
    try:
        return msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            use_list=True,
            ext_hook=_refuse_ext,
            object_pairs_hook=_unique_string_map,
            max_str_len=MAX_PAYLOAD_BYTES,
            max_bin_len=MAX_PAYLOAD_BYTES,
            max_array_len=MAX_CONTAINER_ITEMS,
            max_map_len=MAX_CONTAINER_ITEMS,
            max_ext_len=0,
        )
    except Exception as exc:  # msgpack raises many types (ValueError, ExtraData, UnicodeDecodeError, ...)
        raise ShutdownRpcError(ErrorCode.MALFORMED, f"invalid msgpack: {type(exc).__name__}") from None


def check_payload_size(payload: str) -> None:
    """Refuse a payload whose UTF-8 encoding is longer than MAX_PAYLOAD_BYTES, without encoding long ones."""
    if len(payload) > MAX_PAYLOAD_BYTES or (
        not payload.isascii() and len(payload.encode("utf-8", "surrogatepass")) > MAX_PAYLOAD_BYTES
    ):
        raise ShutdownRpcError(ErrorCode.PAYLOAD_TOO_LARGE, f"payload over {MAX_PAYLOAD_BYTES} bytes")


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# Bits of the last data character that padding leaves unused: 4 before "==", 2 before "=".
_UNUSED_BITS_MASK = {2: 0b1111, 1: 0b11}
_B64_VALUE = {c: i for i, c in enumerate(_ALPHABET)}

if sys.version_info >= (3, 11):

    def _a2b_strict(encoded: bytes) -> bytes:
        return binascii.a2b_base64(encoded, strict_mode=True)

else:  # pragma: no cover - exercised on 3.10 only

    def _a2b_strict(encoded: bytes) -> bytes:
        return base64.b64decode(encoded, validate=True)


def decode_base64(payload: str) -> bytes:
    """Strict RFC 4648 section 4 base64 (standard alphabet, '=' padding, canonical), else MALFORMED."""
    try:
        raw = _a2b_strict(payload.encode("ascii"))
    except (UnicodeEncodeError, binascii.Error):
        raise ShutdownRpcError(ErrorCode.MALFORMED, "payload is not base64") from None
    # strict_mode still lets "AAAA====" (or "AAAA=") through: padding must close a 2- or 3-character quantum.
    # strict_mode refuses "=" anywhere but at the end, so the last 3 characters tell everything (no second pass).
    if len(payload) % 4:
        raise ShutdownRpcError(ErrorCode.MALFORMED, "payload is not padded base64")
    if payload[-1:] == "=":
        padding = 2 if payload[-2] == "=" else 1
        if padding == 2 and payload[-3] == "=":
            raise ShutdownRpcError(ErrorCode.MALFORMED, "payload is not padded base64")
        # Non-zero unused bits would let one envelope travel as several strings; only the canonical form is valid.
        if _B64_VALUE[payload[-1 - padding]] & _UNUSED_BITS_MASK[padding]:
            raise ShutdownRpcError(ErrorCode.MALFORMED, "payload is not canonical base64")
    return raw


def encode_base64(raw: bytes) -> str:
    """Standard base64 with padding, the only encoding v1 uses."""
    return base64.b64encode(raw).decode("ascii")


class Envelope(NamedTuple):
    """A decoded v1 envelope. ``key_id == ""`` with an empty signature marks an unsigned request."""

    version: int
    key_id: str
    signature: bytes
    body: bytes

    @property
    def signed(self) -> bool:
        """Whether the envelope carries a key id (and so must carry a valid signature)."""
        return self.key_id != ""


def signed_message(version: int, key_id: str, body: bytes) -> bytes:
    """The exact bytes a v1 signature covers: domain || u8 version || u8 len(key_id) || key_id || body."""
    kid = key_id.encode("ascii")
    return DOMAIN_SEPARATOR + bytes((version, len(kid))) + kid + body


def pack_envelope(envelope: Envelope) -> str:
    """Serialize an envelope into the RPC payload string."""
    packed = msgpack.packb([envelope.version, envelope.key_id, envelope.signature, envelope.body], use_bin_type=True)
    return encode_base64(packed)


def unpack_envelope(payload: str) -> Envelope:
    """Size check, base64, msgpack, version, shape: payload string -> Envelope, or ShutdownRpcError."""
    check_payload_size(payload)
    value = unpack_strict(decode_base64(payload))
    if type(value) is not list or not value or type(value[0]) is not int:
        raise ShutdownRpcError(ErrorCode.MALFORMED, "envelope must be an array starting with the version")
    version = value[0]
    if version not in SUPPORTED_VERSIONS:
        raise ShutdownRpcError(
            ErrorCode.UNSUPPORTED_VERSION,
            f"version {version} not supported; supported: {','.join(map(str, SUPPORTED_VERSIONS))}",
            SUPPORTED_VERSIONS,
        )
    if len(value) != 4:
        raise ShutdownRpcError(ErrorCode.MALFORMED, "v1 envelope must have 4 elements")
    _, key_id, signature, body = value
    if type(key_id) is not str or type(signature) is not bytes or type(body) is not bytes:
        raise ShutdownRpcError(ErrorCode.MALFORMED, "v1 envelope is [int, str, bin, bin]")
    if key_id == "":
        if signature:
            raise ShutdownRpcError(ErrorCode.MALFORMED, "unsigned envelope must have an empty signature")
    elif not KEY_ID_PATTERN.match(key_id):
        raise ShutdownRpcError(ErrorCode.MALFORMED, "key id must be 1-64 characters of [A-Za-z0-9._-]")
    return Envelope(version, key_id, signature, body)
