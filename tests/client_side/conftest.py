from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from shutdown_rpc.client_side import RetryPolicy, ShutdownClient
from shutdown_rpc.protocol import HmacSha256Key

from .fake_livekit import API_KEY, API_SECRET, FakeLiveKit

KEY = HmacSha256Key("backend-1", b"k" * 32)
FAST = RetryPolicy(max_attempts=4, attempt_timeout_s=2.0, backoff_s=0.0)


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeLiveKit, str]]:
    server = FakeLiveKit()
    runner = web.AppRunner(server.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def client(fake: tuple[FakeLiveKit, str]) -> AsyncIterator[ShutdownClient]:
    _, url = fake
    async with ShutdownClient(KEY, issuer="tests", url=url, api_key=API_KEY, api_secret=API_SECRET, retry=FAST) as c:
        yield c
