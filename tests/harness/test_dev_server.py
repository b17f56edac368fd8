"""``python -m harness.dev_server``: a local livekit-server for development that prints the env lines to export."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from livekit import api

ROOT = Path(__file__).resolve().parents[2]


def read_env_file(path: Path, proc: subprocess.Popen[str], timeout: float = 120.0) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text().count("\n") == 3):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"dev server did not come up (exit {proc.returncode}):\n{out}\n{err}")
        time.sleep(0.1)  # poll interval of the wait for the env file
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


async def create_room(env: dict[str, str], name: str) -> str:
    lkapi = api.LiveKitAPI(env["LIVEKIT_URL"], env["LIVEKIT_API_KEY"], env["LIVEKIT_API_SECRET"])
    try:
        return (await lkapi.room.create_room(api.CreateRoomRequest(name=name))).name
    finally:
        await lkapi.aclose()


def test_dev_server_prints_env_lines_that_reach_it(tmp_path: Path) -> None:
    env_file = tmp_path / "livekit.env"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.dev_server", "--env-file", str(env_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        env = read_env_file(env_file, proc)
        assert set(env) == {"LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"}
        assert env["LIVEKIT_URL"].startswith("ws://127.0.0.1:")
        assert len(env["LIVEKIT_API_SECRET"]) >= 32  # long enough for PyJWT's HS256 minimum
        assert os.stat(env_file).st_mode & 0o077 == 0
        assert asyncio.run(create_room(env, "dev-server-check")) == "dev-server-check"
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    for key, value in env.items():
        assert f"export {key}={value}" in out
    assert "dev-server: stopped" in err
