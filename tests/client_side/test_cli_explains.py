"""The shutdown-rpc CLI explains itself: --version, a URL without a scheme (usage error), nothing listening,
TLS spoken to a plain server, no PyJWT noise with a short dev secret, and inspect's clock-skew note."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import socket
from pathlib import Path

import pytest

from .fake_livekit import API_KEY, FakeLiveKit
from .test_cli import run

EXIT_USAGE, EXIT_TRANSPORT = 2, 11


@pytest.fixture
def hmac_key(tmp_path: Path) -> Path:
    path = tmp_path / "hmac.json"
    assert run("keygen", "--algorithm", "hmac", "--key-id", "backend-1", "--out", str(path)).returncode == 0
    return path


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def send(key: Path, url: str, secret: str = "x" * 32) -> list[str]:
    done = run(
        "send", "--room", "r1", "--key-file", str(key), "--url", url, "--timeout", "5",
        env={"LIVEKIT_API_KEY": API_KEY, "LIVEKIT_API_SECRET": secret},
    )  # fmt: skip
    assert "Traceback" not in done.stderr
    return [str(done.returncode), *done.stderr.splitlines()]


def test_version_is_the_package_metadata() -> None:
    done = run("--version")
    assert done.returncode == 0
    assert done.stdout == f"shutdown-rpc {importlib.metadata.version('livekit-shutdown-rpc')} (wire protocol v1)\n"


def test_url_without_scheme_is_a_usage_error(hmac_key: Path) -> None:
    code, *lines = send(hmac_key, "127.0.0.1:7880")
    assert code == str(EXIT_USAGE)
    assert lines == [
        "shutdown-rpc: error: LIVEKIT_URL (or --url) '127.0.0.1:7880' has no scheme: write ws://127.0.0.1:7880 "
        "(or wss:// with TLS); ws://HOST:PORT for a local livekit-server, wss://<project>.livekit.cloud for "
        "LiveKit Cloud"
    ]


def test_nothing_listening_says_start_a_server(hmac_key: Path) -> None:
    port = closed_port()
    code, *lines = send(hmac_key, f"ws://127.0.0.1:{port}")
    assert code == str(EXIT_TRANSPORT)
    assert len(lines) == 1
    assert f"connection refused by 127.0.0.1:{port}: no LiveKit server listens there" in lines[0]


async def test_tls_to_a_plain_server_and_no_pyjwt_noise(fake: tuple[FakeLiveKit, str], hmac_key: Path) -> None:
    _, url = fake  # http://127.0.0.1:PORT
    code, *lines = await asyncio.to_thread(send, hmac_key, url.replace("http://", "wss://"), "secret")
    assert code == str(EXIT_TRANSPORT)
    assert len(lines) == 1 and "TLS handshake with 127.0.0.1:" in lines[0] and "takes ws://" in lines[0]
    # a 6-byte secret (livekit-server --dev's) made PyJWT warn on every token: the CLI stays quiet
    code, *lines = await asyncio.to_thread(send, hmac_key, url, "secret")
    assert code == str(EXIT_TRANSPORT)
    assert len(lines) == 1 and "refused the API credentials" in lines[0], lines


def test_inspect_says_when_only_the_skew_accepts(hmac_key: Path) -> None:
    mint = ("mint", "--key-file", str(hmac_key), "--room", "r1", "--agent", "a1", "--lifetime", "60")
    minted = json.loads(run(*mint).stdout)
    base = ("inspect", minted["payload"], "--key-file", str(hmac_key))
    late = run(*base, "--now", str(minted["expiresAt"] + 10))
    assert late.returncode == 0 and "ACCEPT" in late.stdout
    assert "note:           expired 10 s ago: accepted only within the 30 s clock skew allowance" in late.stdout
    issued_at = minted["expiresAt"] - 60
    early = run(*base, "--now", str(issued_at - 5))
    assert early.returncode == 0
    assert (
        "note:           issued 5 s in the future: accepted only within the 30 s clock skew allowance" in early.stdout
    )
    on_time = run(*base, "--now", str(issued_at + 1))
    assert on_time.returncode == 0 and "skew" not in on_time.stdout
