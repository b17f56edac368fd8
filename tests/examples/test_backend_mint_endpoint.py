"""The example mint endpoint: authenticates and authorizes its caller, and what it mints verifies at the agent."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from shutdown_rpc.protocol import AgentBinding, ErrorCode, KeyRing, ShutdownRpcError, VerifiedRequest, Verifier
from shutdown_rpc.protocol.wire import FixedClock

from .conftest import KEY, SESSION_SECRET


def session_cookie(user: str, *, expires_in: float = 600, secret: str = SESSION_SECRET) -> dict[str, str]:
    expiry = str(int(time.time() + expires_in))
    tag = hmac.new(secret.encode(), f"{user}.{expiry}".encode(), hashlib.sha256).hexdigest()
    return {"session": f"{user}.{expiry}.{tag}"}


URL = "/api/agent-shutdown/mint"


async def test_no_session_is_401(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.post(URL, json={"room": "call-alice-1", "agent": "agent-1"})
    assert response.status == 401


@pytest.mark.parametrize(
    "cookies",
    [session_cookie("alice", secret="forged"), session_cookie("alice", expires_in=-10)],
    ids=["forged", "expired"],
)
async def test_bad_session_is_401(client: TestClient[web.Request, web.Application], cookies: dict[str, str]) -> None:
    response = await client.post(URL, json={"room": "call-alice-1", "agent": "agent-1"}, cookies=cookies)
    assert response.status == 401


async def test_other_users_room_is_403(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.post(URL, json={"room": "call-bob-1", "agent": "agent-1"}, cookies=session_cookie("alice"))
    assert response.status == 403


async def test_minted_payload_verifies_only_for_its_room_and_agent(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.post(
        URL, json={"room": "call-alice-1", "agent": "agent-1", "reason": "hung up"}, cookies=session_cookie("alice")
    )
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    minted = await response.json()
    assert minted["destinationIdentity"] == "agent-1" and minted["method"] == "shutdown_rpc.shutdown"
    assert "secret" not in str(minted) and KEY.secret.decode() not in str(minted)

    verifier = Verifier(KeyRing([KEY]), clock=FixedClock(int(time.time() * 1000)))
    result = verifier.verify(minted["payload"], AgentBinding("call-alice-1", "agent-1"))
    assert isinstance(result, VerifiedRequest)
    assert (result.request.issuer, result.request.reason) == ("user:alice", "hung up")
    assert result.request.expires_at - result.request.issued_at <= 60
    with pytest.raises(ShutdownRpcError) as refused:
        verifier.verify(minted["payload"], AgentBinding("call-alice-2", "agent-1"))
    assert refused.value.code is ErrorCode.WRONG_ROOM


async def test_a_user_cannot_mint_for_a_room_of_a_user_whose_name_extends_theirs(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.post(
        URL, json={"room": "call-alice-bob-1", "agent": "agent-1"}, cookies=session_cookie("alice")
    )
    assert response.status == 403
    own = await client.post(
        URL, json={"room": "call-alice-bob-1", "agent": "agent-1"}, cookies=session_cookie("alice-bob")
    )
    assert own.status == 200
    for room in ("call-alice-", "call-alice-1x", "xcall-alice-1", "call-alice-1\n"):
        refused = await client.post(URL, json={"room": room, "agent": "a"}, cookies=session_cookie("alice"))
        assert refused.status == 403, room


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        b'"room"',
        b"null",
        b'{"room": ["call-alice-1"]}',
        b'{"room": "call-alice-1", "agent": 7}',
    ],
)
async def test_malformed_or_non_object_bodies_are_400(
    client: TestClient[web.Request, web.Application], body: bytes
) -> None:
    response = await client.post(
        URL, data=body, headers={"Content-Type": "application/json"}, cookies=session_cookie("alice")
    )
    assert response.status == 400, await response.text()


@pytest.mark.parametrize("tag", ["\u00e9" * 64, "x", ""])
async def test_a_malformed_session_tag_is_401(client: TestClient[web.Request, web.Application], tag: str) -> None:
    user, expiry, _ = session_cookie("alice")["session"].rsplit(".", 2)
    response = await client.post(
        URL, json={"room": "call-alice-1", "agent": "a"}, cookies={"session": f"{user}.{expiry}.{tag}"}
    )
    assert response.status == 401


async def test_a_non_numeric_expiry_is_401(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.post(
        URL, json={"room": "call-alice-1", "agent": "a"}, cookies={"session": "alice.soon.abc"}
    )
    assert response.status == 401
