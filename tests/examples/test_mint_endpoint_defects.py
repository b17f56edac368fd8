"""Issue 11 #2: the example mint endpoint authorizes exactly and answers what the client got wrong with a 4xx."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.examples.test_backend_mint_endpoint import URL, session_cookie

Client = TestClient[web.Request, web.Application]


async def test_a_user_cannot_mint_for_a_room_of_a_user_whose_name_extends_theirs(client: Client) -> None:
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
async def test_malformed_or_non_object_bodies_are_400(client: Client, body: bytes) -> None:
    response = await client.post(
        URL, data=body, headers={"Content-Type": "application/json"}, cookies=session_cookie("alice")
    )
    assert response.status == 400, await response.text()


@pytest.mark.parametrize("tag", ["\u00e9" * 64, "x", ""])
async def test_a_malformed_session_tag_is_401(client: Client, tag: str) -> None:
    user, expiry, _ = session_cookie("alice")["session"].rsplit(".", 2)
    response = await client.post(
        URL, json={"room": "call-alice-1", "agent": "a"}, cookies={"session": f"{user}.{expiry}.{tag}"}
    )
    assert response.status == 401


async def test_a_non_numeric_expiry_is_401(client: Client) -> None:
    response = await client.post(
        URL, json={"room": "call-alice-1", "agent": "a"}, cookies={"session": "alice.soon.abc"}
    )
    assert response.status == 401
