"""The shutdown-rpc CLI against a real livekit-server: credentials of another server (HTTP 401) and a URL with a
path (HTTP 404) each get one line that names the setting to fix; a room that does not exist is exit 7."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.livekit_server import LiveKitServer

pytestmark = pytest.mark.e2e

SCRIPT = Path(sys.executable).with_name("shutdown-rpc")


def send(server: LiveKitServer, key: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "SHUTDOWN_RPC_"))}
    full.update(server.env())
    full.update(env)
    cmd = [str(SCRIPT), "send", "--room", "no-such-room", "--key-file", str(key), "--timeout", "10"]
    return subprocess.run(cmd, capture_output=True, text=True, env=full, timeout=60, check=False)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    out = tmp_path / "k.json"
    done = subprocess.run(
        [str(SCRIPT), "keygen", "--key-id", "k1", "--out", str(out)], capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return out


async def test_wrong_credentials_path_and_room(livekit_server: LiveKitServer, key_file: Path) -> None:
    wrong = await asyncio.to_thread(send, livekit_server, key_file, LIVEKIT_API_SECRET="secret")
    assert wrong.returncode == 11
    assert wrong.stderr.startswith("TransportError: the server at 127.0.0.1:")
    assert "refused the API credentials (HTTP 401): LIVEKIT_API_KEY / LIVEKIT_API_SECRET" in wrong.stderr
    assert "Warning" not in wrong.stderr and wrong.stderr.count("\n") == 1

    path = await asyncio.to_thread(send, livekit_server, key_file, LIVEKIT_URL=livekit_server.url + "/rtc")
    assert path.returncode == 11
    assert "HTTP 404" in path.stderr and "drop the path '/rtc'" in path.stderr and path.stderr.count("\n") == 1

    room = await asyncio.to_thread(send, livekit_server, key_file)
    assert room.returncode == 7 and "room 'no-such-room' does not exist" in room.stderr
