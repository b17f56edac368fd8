"""Issue 23 #9: when the mint endpoint cannot find the room's agent, the frontend gets a generic 409; the detail
(the LiveKit server's address, setting names) goes to the backend's log only."""

from __future__ import annotations

import logging
from types import ModuleType, TracebackType

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from shutdown_rpc.client_side import TransportError

from .test_backend_mint_endpoint import URL, session_cookie

DETAIL = (
    "connection refused by 10.1.2.3:7880: no LiveKit server listens there. Start one (livekit-server --dev, ...)"
    " or fix LIVEKIT_URL (or --url)"
)


class UnreachableServer:
    """Stands in for ShutdownClient when the LiveKit server cannot be reached."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    async def __aenter__(self) -> UnreachableServer:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        return None

    async def list_agents(self, room: str, *, all_agents: bool = True) -> tuple[str, ...]:
        raise TransportError(DETAIL, room=room)


async def test_a_discovery_failure_tells_the_frontend_nothing_internal(
    endpoint: ModuleType,
    client: TestClient[web.Request, web.Application],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(endpoint, "ShutdownClient", UnreachableServer)
    with caplog.at_level(logging.WARNING):
        response = await client.post(URL, json={"room": "call-alice-1"}, cookies=session_cookie("alice"))
    assert response.status == 409
    text = await response.text()
    assert "10.1.2.3" not in text and "LIVEKIT" not in text and "7880" not in text
    assert "agent" in text  # still says what to do: name the agent
    assert any("10.1.2.3:7880" in r.getMessage() for r in caplog.records)
