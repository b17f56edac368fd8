"""``shutdown-rpc fleet`` as a subprocess against the fake server: selection, dry run, JSON report, the summarising
exit code, no progress bar when stderr is not a terminal, no secret in any output."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import subprocess
from pathlib import Path

from shutdown_rpc.client_side import RoomNotFound
from shutdown_rpc.client_side import _cli as cli
from shutdown_rpc.client_side._cli.fleet import _Progress
from shutdown_rpc.client_side.fleet import RoomOutcome
from shutdown_rpc.protocol import HmacSha256Key

from .fake_livekit import API_KEY, API_SECRET, FakeLiveKit, FakeParticipant, agent
from .test_cli import hmac_key, run, secrets_of

__all__ = ["hmac_key"]


async def fleet(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(run, "fleet", *args, env=env)


async def test_fleet_command(fake: tuple[FakeLiveKit, str], hmac_key: Path) -> None:
    server, url = fake
    key = HmacSha256Key("backend-1", base64.b64decode(secrets_of(hmac_key)[0]))
    env = {
        "LIVEKIT_URL": url,
        "LIVEKIT_API_KEY": API_KEY,
        "LIVEKIT_API_SECRET": API_SECRET,
        "SHUTDOWN_RPC_KEY_FILE": str(hmac_key),
    }
    server.add("acme-1", agent("agent-1", [key]))
    server.add("acme-2", agent("agent-2", [key]), agent("agent-3", [key]))
    server.add("acme-empty", FakeParticipant("user", kind=0))
    server.add("other-1", agent("agent-9", [key]))

    dry = await fleet(env, "--match", "acme-*", "--dry-run", "--json")
    assert dry.returncode == cli.EXIT_OK, dry.stderr
    report = json.loads(dry.stdout)
    assert report["dry_run"] is True
    assert {r["room"]: r["status"] for r in report["rooms"]} == {
        "acme-1": "planned",
        "acme-2": "planned",
        "acme-empty": "no_agent",
    }
    assert server.calls.get("PerformRpc", 0) == 0
    assert dry.stderr == ""  # not a terminal: no progress bar

    done = await fleet(env, "--match", "acme-*", "--reason", "maintenance", "--json")
    assert done.returncode == cli.EXIT_OK, done.stderr
    report = json.loads(done.stdout)
    assert report["summary"] == {"acknowledged": 2, "no_agent": 1}
    acme2 = next(r for r in report["rooms"] if r["room"] == "acme-2")
    assert {a: r["status"] for a, r in acme2["results"].items()} == {"agent-2": "accepted", "agent-3": "accepted"}
    assert server.rooms["other-1"]["agent-9"].payloads == []

    server.add("foreign", agent("agent-f", []))  # trusts no key: refuses
    partial = await fleet(env, "--rooms", "other-1,foreign,missing")
    assert partial.returncode == cli.EXIT_PARTIAL
    assert "3 room(s): 1 acknowledged, 2 failed" in partial.stdout
    assert "RoomNotFound" in partial.stdout and "Refused" in partial.stdout

    none = await fleet(env, "--match", "nobody-*")
    assert none.returncode == cli.EXIT_ROOM_NOT_FOUND
    usage = await fleet(env, "--all-rooms", "--webhook-listen", "127.0.0.1:1")
    assert usage.returncode == cli.EXIT_USAGE  # --webhook-listen needs --wait
    for proc in (dry, done, partial, none, usage):
        assert "Traceback" not in proc.stderr
        assert API_SECRET not in proc.stdout + proc.stderr
        assert secrets_of(hmac_key)[0] not in proc.stdout + proc.stderr


class FakeTerminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_bar_only_on_a_terminal() -> None:
    outcomes = [RoomOutcome("a"), RoomOutcome("b", error=RoomNotFound("gone", room="b"))]
    for tty in (True, False):
        stream = FakeTerminal(tty)
        progress = _Progress(2, stream)
        for outcome in outcomes:
            progress.update(outcome)
        progress.clear()
        if tty:
            assert "] 1/2 rooms" in stream.getvalue() and "] 2/2 rooms, 1 not ok" in stream.getvalue()
            assert stream.getvalue().endswith("\r")
        else:
            assert stream.getvalue() == ""


async def test_fleet_dry_run_needs_no_signing_key(fake: tuple[FakeLiveKit, str]) -> None:
    # issue 19: --dry-run only lists rooms, yet it demanded a signing key
    server, url = fake
    server.add("acme-1", agent("agent-1", [HmacSha256Key("backend-1", b"k" * 32)]))
    env = {"LIVEKIT_URL": url, "LIVEKIT_API_KEY": API_KEY, "LIVEKIT_API_SECRET": API_SECRET}

    dry = await fleet(env, "--match", "acme-*", "--dry-run", "--json")

    assert dry.returncode == cli.EXIT_OK, dry.stderr
    assert [r["status"] for r in json.loads(dry.stdout)["rooms"]] == ["planned"]
