"""What callers use: build a request, sign it, get the RPC payload string. Pure apart from randomness."""

from __future__ import annotations

import base64
import secrets

import msgpack

from ._clock import Clock, SystemClock
from ._envelope import PROTOCOL_VERSION, Envelope, pack_envelope, signed_message
from ._keys import SigningKey
from ._limits import DEFAULT_LIFETIME_S
from ._schema import ShutdownOptions, ShutdownRequest

REQUEST_ID_BYTES = 16


def new_request_id() -> str:
    """128 random bits from the OS CSPRNG as 22 base64url characters (no padding)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(REQUEST_ID_BYTES)).rstrip(b"=").decode("ascii")


def build_request(
    *,
    room: str,
    target: str,
    reason: str,
    issuer: str,
    options: ShutdownOptions | None = None,
    lifetime_s: int = DEFAULT_LIFETIME_S,
    request_id: str | None = None,
    clock: Clock | None = None,
) -> ShutdownRequest:
    """A validated request issued now (floor of the clock's seconds), expiring ``lifetime_s`` later."""
    issued_at = (clock or SystemClock()).now_ms() // 1000
    return ShutdownRequest(
        request_id=request_id or new_request_id(),
        issued_at=issued_at,
        expires_at=issued_at + lifetime_s,
        room=room,
        target=target,
        reason=reason,
        issuer=issuer,
        options=options or ShutdownOptions.defaults(),
    )


def encode_body(request: ShutdownRequest) -> bytes:
    """The body bytes: a msgpack map in the spec's field order, shortest encodings (as msgpack writes them)."""
    return msgpack.packb(request.wire_dict(), use_bin_type=True)


def seal(body: bytes, key: SigningKey | None, *, version: int = PROTOCOL_VERSION) -> str:
    """Sign arbitrary body bytes and wrap them (``key=None``: unsigned). Low level: prefer sign_request."""
    if key is None:
        return pack_envelope(Envelope(version, "", b"", body))
    return pack_envelope(Envelope(version, key.key_id, key.sign(signed_message(version, key.key_id, body)), body))


def sign_request(request: ShutdownRequest, key: SigningKey | None) -> str:
    """The RPC payload string for ``request`` signed with ``key``; ``key=None`` makes an unsigned request
    (accepted only where an agent's policy allows it)."""
    return seal(encode_body(request), key)


def unsigned_request(request: ShutdownRequest) -> str:
    """The RPC payload string for an unsigned request: ``sign_request(request, None)``."""
    return sign_request(request, None)
