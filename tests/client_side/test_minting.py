"""Minting: lifetime bound, room and agent binding, checked with the protocol Verifier."""

from __future__ import annotations

import pytest

from shutdown_rpc.client_side import ShutdownCommand, mint_request
from shutdown_rpc.client_side._minting import MAX_MINT_LIFETIME_S
from shutdown_rpc.protocol import (
    AgentBinding,
    Ed25519SigningKey,
    ErrorCode,
    KeyRing,
    ShutdownRpcError,
    VerifiedRequest,
    Verifier,
)
from shutdown_rpc.protocol.wire import FixedClock, verifying_key_of

NOW_MS = 1_800_000_000_000
SIGNER = Ed25519SigningKey.generate("frontend-mint")


def verifier(now_ms: int = NOW_MS) -> Verifier:
    return Verifier(KeyRing([verifying_key_of(SIGNER)]), clock=FixedClock(now_ms))


def mint(*, room: str = "room-1", agent: str = "agent-1", lifetime_s: int = 60) -> str:
    command = ShutdownCommand(reason="user ended call", lifetime_s=lifetime_s)
    return mint_request(SIGNER, command, room=room, agent=agent, issuer="web", clock=FixedClock(NOW_MS)).payload


def test_minted_payload_verifies_for_its_room_and_agent() -> None:
    minted = mint_request(
        SIGNER, ShutdownCommand(reason="r"), room="room-1", agent="agent-1", issuer="web", clock=FixedClock(NOW_MS)
    )
    decision = verifier().verify(minted.payload, AgentBinding("room-1", "agent-1"))
    assert isinstance(decision, VerifiedRequest)
    assert decision.request.request_id == minted.request_id
    assert minted.expires_at - minted.issued_at <= MAX_MINT_LIFETIME_S
    assert minted.to_json_dict()["destinationIdentity"] == "agent-1"


@pytest.mark.parametrize(
    ("binding", "code"),
    [
        (AgentBinding("room-2", "agent-1"), ErrorCode.WRONG_ROOM),
        (AgentBinding("room-1", "agent-2"), ErrorCode.WRONG_TARGET),
    ],
)
def test_minted_payload_is_bound(binding: AgentBinding, code: ErrorCode) -> None:
    with pytest.raises(ShutdownRpcError) as info:
        verifier().verify(mint(), binding)
    assert info.value.code is code


def test_minted_payload_expires() -> None:
    payload = mint(lifetime_s=10)
    with pytest.raises(ShutdownRpcError) as info:
        verifier(NOW_MS + (10 + 30) * 1000).verify(payload, AgentBinding("room-1", "agent-1"))
    assert info.value.code is ErrorCode.EXPIRED


@pytest.mark.parametrize(
    ("lifetime", "message"),
    [(0, "lifetime_s must be within 1..300"), (MAX_MINT_LIFETIME_S + 1, "lives"), (300, "lives")],
)
def test_lifetime_bound(lifetime: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mint(lifetime_s=lifetime)


@pytest.mark.parametrize("target", ["", "*"])
def test_must_name_one_agent(target: str) -> None:
    with pytest.raises(ValueError, match="one agent"):
        mint(agent=target)


def test_default_lifetime_is_the_spec_default() -> None:
    from shutdown_rpc.protocol import LIMITS

    minted = mint_request(
        SIGNER, ShutdownCommand(reason="r"), room="room-1", agent="agent-1", issuer="web", clock=FixedClock(NOW_MS)
    )
    assert minted.expires_at - minted.issued_at == LIMITS["default_lifetime_s"] == 60
