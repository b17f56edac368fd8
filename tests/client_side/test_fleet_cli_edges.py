"""Issue 23 #3-#5: ``shutdown-rpc fleet`` refuses the arguments ``send`` refuses, treats a bad listen port as a
usage error, selects rooms with the package's one pattern rule, and asks before acting on all rooms."""

from __future__ import annotations

import asyncio
import base64
import os
import pty
import subprocess
from pathlib import Path

import pytest

from shutdown_rpc.client_side import _cli as cli
from shutdown_rpc.client_side.fleet import WebhookListener
from shutdown_rpc.protocol import HmacSha256Key

from .fake_livekit import API_KEY, API_SECRET, FakeLiveKit, agent
from .test_cli import SCRIPT, hmac_key, run, secrets_of

__all__ = ["hmac_key"]


def key_of(key_file: Path) -> HmacSha256Key:
    return HmacSha256Key("backend-1", base64.b64decode(secrets_of(key_file)[0]))


def env_of(url: str, key_file: Path) -> dict[str, str]:
    return {
        "LIVEKIT_URL": url,
        "LIVEKIT_API_KEY": API_KEY,
        "LIVEKIT_API_SECRET": API_SECRET,
        "SHUTDOWN_RPC_KEY_FILE": str(key_file),
    }


async def fleet(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(run, "fleet", *args, env=env)


@pytest.mark.parametrize("option", ["--timeout", "--wait"])
@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
async def test_fleet_refuses_the_durations_send_refuses(
    fake: tuple[FakeLiveKit, str], hmac_key: Path, option: str, value: str
) -> None:
    server, url = fake
    server.add("room-1", agent("agent-1", [key_of(hmac_key)]))
    proc = await fleet(env_of(url, hmac_key), "--rooms", "room-1", f"{option}={value}")
    assert proc.returncode == cli.EXIT_USAGE, proc.stderr
    assert option in proc.stderr and "Traceback" not in proc.stderr
    assert server.calls.get("PerformRpc", 0) == 0


async def test_fleet_refuses_a_zero_timeout(fake: tuple[FakeLiveKit, str], hmac_key: Path) -> None:
    _, url = fake
    proc = await fleet(env_of(url, hmac_key), "--rooms", "room-1", "--timeout", "0")
    assert proc.returncode == cli.EXIT_USAGE, proc.stderr


@pytest.mark.parametrize("address", ["127.0.0.1:99999", "[::1]:65536"])
async def test_a_listen_port_out_of_range_is_a_usage_error(
    fake: tuple[FakeLiveKit, str], hmac_key: Path, address: str
) -> None:
    _, url = fake
    proc = await fleet(env_of(url, hmac_key), "--rooms", "room-1", "--wait", "1", "--webhook-listen", address)
    assert proc.returncode == cli.EXIT_USAGE, proc.stderr
    assert "--webhook-listen" in proc.stderr and "internal error" not in proc.stderr


def test_an_ipv6_listener_url_has_brackets() -> None:
    hooks = WebhookListener(API_KEY, API_SECRET, host="::1", port=8765)
    assert hooks.url == "http://[::1]:8765/livekit/webhook"
    assert WebhookListener(API_KEY, API_SECRET, host="127.0.0.1", port=80).url == "http://127.0.0.1:80/livekit/webhook"


async def test_match_uses_the_literal_with_star_rule(fake: tuple[FakeLiveKit, str], hmac_key: Path) -> None:
    server, url = fake
    key = key_of(hmac_key)
    server.add("ops1", agent("agent-1", [key]))
    server.add("ops[1]", agent("agent-2", [key]))
    server.add("ops-blue", agent("agent-3", [key]))
    proc = await fleet(env_of(url, hmac_key), "--match", "ops[1]", "--dry-run")
    assert proc.returncode == cli.EXIT_OK, proc.stderr
    assert "'ops[1]'" in proc.stdout and "'ops1'" not in proc.stdout
    proc = await fleet(env_of(url, hmac_key), "--match", "ops?", "--dry-run")
    assert proc.returncode == cli.EXIT_ROOM_NOT_FOUND  # `?` is no wildcard
    proc = await fleet(env_of(url, hmac_key), "--match", "ops*", "--dry-run")
    assert proc.stdout.count("would ask") == 3


async def test_all_rooms_without_a_terminal_needs_yes(fake: tuple[FakeLiveKit, str], hmac_key: Path) -> None:
    server, url = fake
    server.add("room-1", agent("agent-1", [key_of(hmac_key)]))
    refused = await fleet(env_of(url, hmac_key), "--all-rooms", "--reason", "x")
    assert refused.returncode == cli.EXIT_USAGE, refused.stderr
    assert "--yes" in refused.stderr
    assert server.calls.get("PerformRpc", 0) == 0
    planned = await fleet(env_of(url, hmac_key), "--all-rooms", "--dry-run")  # sends nothing: no need to confirm
    assert planned.returncode == cli.EXIT_OK, planned.stderr
    done = await fleet(env_of(url, hmac_key), "--all-rooms", "--yes")
    assert done.returncode == cli.EXIT_OK, done.stderr
    assert server.calls.get("PerformRpc", 0) >= 1


def run_on_a_terminal(env: dict[str, str], answer: str, *args: str) -> tuple[int, str]:
    """Run the CLI with its stdin on a pseudo-terminal, typing ``answer`` once it asks; (exit code, what it wrote)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "SHUTDOWN_RPC_"))}
    base.update(env)
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.Popen(
            [str(SCRIPT), "fleet", *args], stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=base
        )
        os.write(controller, answer.encode() + b"\n")
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(controller)
        os.close(terminal)
    return proc.returncode, (out + err).decode()


@pytest.mark.parametrize(("answer", "sent"), [("", False), ("y", True)])
async def test_all_rooms_on_a_terminal_asks_first(
    fake: tuple[FakeLiveKit, str], hmac_key: Path, answer: str, sent: bool
) -> None:
    server, url = fake
    server.add("room-1", agent("agent-1", [key_of(hmac_key)]))
    server.add("room-2", agent("agent-2", [key_of(hmac_key)]))
    code, output = await asyncio.to_thread(
        run_on_a_terminal, env_of(url, hmac_key), answer, "--all-rooms", "--delete-room"
    )
    assert "2 rooms" in output and "delete" in output  # the prompt says how many and that they are deleted
    assert (server.calls.get("PerformRpc", 0) > 0) is sent
    assert code == (cli.EXIT_OK if sent else cli.EXIT_USAGE), output
