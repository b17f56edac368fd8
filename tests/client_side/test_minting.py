"""Minting: lifetime bound, room and agent binding, checked with the protocol Verifier."""

from __future__ import annotations

import pytest

from shutdown_rpc.client_side import MAX_MINT_LIFETIME_S, mint_request
from shutdown_rpc.protocol import (
    Binding,
    Ed25519SigningKey,
    ErrorCode,
    FixedClock,
    KeyRing,
    ShutdownRpcError,
    VerifiedRequest,
    Verifier,
    verifying_key_of,
)

NOW_MS = 1_800_000_000_000
SIGNER = Ed25519SigningKey.generate("frontend-mint")


def verifier(now_ms: int = NOW_MS) -> Verifier:
    return Verifier(KeyRing([verifying_key_of(SIGNER)]), clock=FixedClock(now_ms))


def mint(**kw: object) -> str:
    args: dict[str, object] = {"room": "room-1", "agent": "agent-1", "reason": "user ended call", "issuer": "web"}
    args.update(kw)
    return mint_request(SIGNER, clock=FixedClock(NOW_MS), **args).payload  # type: ignore[arg-type]


def test_minted_payload_verifies_for_its_room_and_agent() -> None:
    minted = mint_request(SIGNER, room="room-1", agent="agent-1", reason="r", issuer="web", clock=FixedClock(NOW_MS))
    decision = verifier().verify(minted.payload, Binding("room-1", "agent-1"))
    assert isinstance(decision, VerifiedRequest)
    assert decision.request.request_id == minted.request_id
    assert minted.expires_at - minted.issued_at <= MAX_MINT_LIFETIME_S
    assert minted.to_json_dict()["destinationIdentity"] == "agent-1"


@pytest.mark.parametrize(
    ("binding", "code"),
    [(Binding("room-2", "agent-1"), ErrorCode.WRONG_ROOM), (Binding("room-1", "agent-2"), ErrorCode.WRONG_TARGET)],
)
def test_minted_payload_is_bound(binding: Binding, code: ErrorCode) -> None:
    with pytest.raises(ShutdownRpcError) as info:
        verifier().verify(mint(), binding)
    assert info.value.code is code


def test_minted_payload_expires() -> None:
    payload = mint(lifetime_s=10)
    with pytest.raises(ShutdownRpcError) as info:
        verifier(NOW_MS + (10 + 30) * 1000).verify(payload, Binding("room-1", "agent-1"))
    assert info.value.code is ErrorCode.EXPIRED


@pytest.mark.parametrize("lifetime", [0, MAX_MINT_LIFETIME_S + 1, 300])
def test_lifetime_bound(lifetime: int) -> None:
    with pytest.raises(ValueError, match="lives"):
        mint(lifetime_s=lifetime)


@pytest.mark.parametrize("target", ["", "*"])
def test_must_name_one_agent(target: str) -> None:
    with pytest.raises(ValueError, match="one agent"):
        mint(agent=target)


def test_default_lifetime_is_the_spec_default() -> None:
    from shutdown_rpc.protocol import LIMITS

    minted = mint_request(SIGNER, room="room-1", agent="agent-1", reason="r", issuer="web", clock=FixedClock(NOW_MS))
    assert minted.expires_at - minted.issued_at == LIMITS["default_lifetime_s"] == 60
