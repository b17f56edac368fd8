"""Fixtures of the example mint endpoint's tests: the module, reloaded with a test key and session secret, and
a client of its app."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from types import ModuleType

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from shutdown_rpc.protocol import HmacSha256Key, dump_key_file

KEY = HmacSha256Key("web-backend-1", b"k" * 32)
SESSION_SECRET = "app-session-secret-for-the-test"


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("SHUTDOWN_RPC_KEY", dump_key_file(KEY))
    monkeypatch.setenv("APP_SESSION_SECRET", SESSION_SECRET)
    monkeypatch.delenv("SHUTDOWN_RPC_KEY_FILE", raising=False)
    import examples.backend_mint_endpoint as module

    return importlib.reload(module)  # it reads its key and secret at import


@pytest.fixture
async def client(endpoint: ModuleType) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(endpoint.make_app())) as test_client:
        yield test_client
