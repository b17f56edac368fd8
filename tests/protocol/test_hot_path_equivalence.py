"""The verifier's fast paths give the answers of the plain definitions they replace (issue 12, item 5)."""

from __future__ import annotations

import base64
import binascii

from hypothesis import given, settings
from hypothesis import strategies as st

from shutdown_rpc.protocol import ShutdownRpcError
from shutdown_rpc.protocol._envelope import decode_base64

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def canonical_base64(payload: str) -> bytes | None:
    """The definition: strict standard base64 whose re-encoding is the payload itself; None if not."""
    try:
        raw = base64.b64decode(payload.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        return None
    return raw if base64.b64encode(raw).decode("ascii") == payload else None


def decoded(payload: str) -> bytes | None:
    try:
        return decode_base64(payload)
    except ShutdownRpcError:
        return None


near_base64 = st.one_of(
    st.text(alphabet=B64 + "=", max_size=16),
    st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode()),
    st.tuples(st.binary(max_size=12), st.integers(0, 3), st.sampled_from(B64 + "=-_ é")).map(
        lambda t: base64.b64encode(t[0]).decode() + "=" * t[1] + t[2]
    ),
    st.tuples(st.binary(min_size=1, max_size=12), st.integers(0, 63)).map(
        # flip the last data character: unused bits set, or another value
        lambda t: (lambda s: s.rstrip("=")[:-1] + B64[t[1]] + "=" * (len(s) - len(s.rstrip("="))))(
            base64.b64encode(t[0]).decode()
        )
    ),
)


@settings(max_examples=3000)
@given(near_base64)
def test_decode_base64_is_canonical_strict_base64(payload: str) -> None:
    assert decoded(payload) == canonical_base64(payload)


def test_verified_request_is_still_frozen() -> None:
    """VerifiedRequest is built by one dict update (a hot-path shortcut) and must stay immutable."""
    import dataclasses

    import pytest

    from shutdown_rpc.protocol import (
        AgentBinding,
        HmacSha256Key,
        KeyRing,
        VerifiedRequest,
        Verifier,
        build_request,
        sign_request,
    )
    from shutdown_rpc.protocol.wire import FixedClock

    key, clock = HmacSha256Key("hmac-1", bytes(range(32))), FixedClock(1_800_000_000_000)
    binding = AgentBinding("room-1", "agent-1", "AJ_1")
    request = build_request(room="room-1", target="agent-1", reason="r", issuer="i", clock=clock)
    verified = Verifier(KeyRing([key]), clock=clock).verify(sign_request(request, key), binding)
    assert isinstance(verified, VerifiedRequest)
    assert (verified.request, verified.key_id) == (request, "hmac-1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        verified.key_id = "other"  # type: ignore[misc]
