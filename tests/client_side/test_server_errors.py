"""The one-line explanations of server API failures (client_side/_server_errors.py), from real aiohttp errors:
a closed loopback port, TLS spoken to a plain HTTP server (never a name lookup: nothing leaves loopback)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from shutdown_rpc.client_side._server_errors import check_server_url, explain_http_status, explain_unreachable


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def failure_of(url: str) -> BaseException:
    async with aiohttp.ClientSession() as session:
        try:
            async with session.post(url + "/twirp/livekit.RoomService/ListRooms", data=b"{}"):
                pass
        except aiohttp.ClientError as exc:
            return exc
    raise AssertionError(f"{url} answered")


@pytest.fixture
async def plain_http_port() -> AsyncIterator[int]:
    app = web.Application()
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port: int = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield port
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("127.0.0.1:7880", "has no scheme: write ws://127.0.0.1:7880"),
        ("localhost", "has no scheme: write ws://localhost"),
        ("ftp://127.0.0.1:7880", "scheme 'ftp' is not one of ws, wss, http, https"),
        ("ws://", "has no host"),
        ("ws://127.0.0.1:99999", "the port is not a number from 1 to 65535"),
    ],
)
def test_url_without_scheme_or_host_is_a_usage_error(url: str, says: str) -> None:
    with pytest.raises(ValueError, match="LIVEKIT_URL") as raised:
        check_server_url(url)
    assert says in str(raised.value)


@pytest.mark.parametrize("url", ["ws://127.0.0.1:7880", "wss://x.livekit.cloud", "http://h/", "https://h:443/lk"])
def test_server_urls_pass(url: str) -> None:
    check_server_url(url)


async def test_connection_refused_says_no_server_listens() -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}"
    line = explain_unreachable(url, await failure_of(url))
    assert line.startswith(f"connection refused by 127.0.0.1:{port}: no LiveKit server listens there")
    assert "LIVEKIT_URL" in line


async def test_tls_to_a_plain_server_says_use_ws(plain_http_port: int) -> None:
    url = f"https://127.0.0.1:{plain_http_port}"
    line = explain_unreachable(url, await failure_of(url))
    assert line.startswith(f"TLS handshake with 127.0.0.1:{plain_http_port} failed")
    assert "takes ws://" in line


def test_http_statuses_that_mean_configuration() -> None:
    assert "refused the API credentials (HTTP 401)" in (explain_http_status("ws://127.0.0.1:7880", 401) or "")
    assert "LIVEKIT_API_KEY / LIVEKIT_API_SECRET" in (explain_http_status("ws://127.0.0.1:7880", 401) or "")
    assert "drop the path '/foo'" in (explain_http_status("ws://127.0.0.1:7880/foo", 404) or "")
    assert "is it a LiveKit server?" in (explain_http_status("ws://127.0.0.1:7880", 404) or "")
    assert "room admin" in (explain_http_status("ws://h", 403) or "")
    assert explain_http_status("ws://h", 500) is None
