"""Issue 11 defects of the CLI: inspect on hostile bodies (#4), deep JSON in keys (#3), keygen paths (#9),
non-positive timeouts (#10), a secret given as a key path (#7)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import msgpack
import pytest

from shutdown_rpc.client_side import _cli as cli
from shutdown_rpc.protocol import HmacSha256Key, build_request, dump_key, encode_body, seal

from .fake_livekit import API_KEY, API_SECRET, FakeLiveKit
from .test_cli import run

KEY = HmacSha256Key("backend-1", b"k" * 32)


def _body(**changes: object) -> dict[str, object]:
    request = build_request(room="r1", target="agent-1", reason="bye", issuer="ops", lifetime_s=60)
    body = request.wire_dict()
    body.update(changes)
    return body


def _nested(depth: int) -> object:
    value: object = 0
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_body(reason=[b"\x00bin"]), id="bin-in-list"),
        pytest.param(_body(reason={"k": b"bin"}), id="bin-in-map"),
        pytest.param(_body(reason=_nested(1000)), id="deeply-nested"),
        pytest.param(_body(issued_at=2**63), id="uint64-issued_at"),
        pytest.param(_body(issued_at=-(2**62)), id="negative-int64"),
    ],
)
def test_inspect_refuses_hostile_bodies_with_exit_3(body: dict[str, object]) -> None:
    payload = seal(msgpack.packb(body, use_bin_type=True), KEY)
    proc = run("inspect", payload, env={"SHUTDOWN_RPC_KEY": dump_key(KEY)})
    assert proc.returncode == cli.EXIT_REFUSED, proc.stdout + proc.stderr
    assert "REFUSE" in proc.stdout and "Traceback" not in proc.stderr


def test_inspect_prints_fields_of_a_valid_body_escaped() -> None:
    body = _body(reason="a\u200bb")  # a zero-width space: allowed, but not printable
    proc = run("inspect", seal(msgpack.packb(body, use_bin_type=True), KEY), env={"SHUTDOWN_RPC_KEY": dump_key(KEY)})
    assert proc.returncode == cli.EXIT_OK, proc.stdout + proc.stderr
    assert '"a\\u200bb"' in proc.stdout and "\u200b" not in proc.stdout


@pytest.mark.parametrize("now", ["inf", "1e300", "-1", "nan", "x"])
def test_inspect_bad_now_is_a_usage_error(now: str) -> None:
    payload = seal(encode_body(build_request(room="r1", target="a", reason="", issuer="ops", lifetime_s=60)), KEY)
    proc = run("inspect", payload, "--now", now)
    assert proc.returncode == cli.EXIT_USAGE, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_deeply_nested_key_json_is_a_usage_error(tmp_path: Path) -> None:
    deep = '{"key_id": ' + "[" * 2000 + "]" * 2000 + "}"
    path = tmp_path / "deep.json"
    path.write_text(deep)
    path.chmod(0o600)
    for args, env in (
        (("--key-file", str(path)), {}),
        ((), {"SHUTDOWN_RPC_KEY": deep}),
    ):
        proc = run("mint", "--room", "r1", "--agent", "a", *args, env=env)
        assert proc.returncode == cli.EXIT_USAGE, proc.stderr
        assert "Traceback" not in proc.stderr and "RecursionError" not in proc.stderr
        assert json.dumps(deep)[:50] not in proc.stderr


def test_keygen_force_refuses_public_out_naming_out_through_another_path(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    out = tmp_path / "k.json"
    first = run("keygen", "--key-id", "ops-1", "--out", str(out))
    assert first.returncode == cli.EXIT_OK, first.stderr
    before = out.read_text()
    (tmp_path / "hard.json").hardlink_to(out)
    for other in (tmp_path / "sub" / ".." / "k.json", tmp_path / "hard.json"):
        proc = run("keygen", "--key-id", "ops-2", "--out", str(out), "--public-out", str(other), "--force")
        assert proc.returncode == cli.EXIT_USAGE, proc.stdout + proc.stderr
        assert "must differ" in proc.stderr
        assert out.read_text() == before


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--timeout", "0"), ("--timeout", "-1"), ("--timeout", "nan"), ("--timeout", "inf"), ("--wait", "-5")],
)
async def test_send_refuses_non_positive_durations(fake: tuple[FakeLiveKit, str], flag: str, value: str) -> None:
    _, url = fake
    env = {
        "LIVEKIT_URL": url,
        "LIVEKIT_API_KEY": API_KEY,
        "LIVEKIT_API_SECRET": API_SECRET,
        "SHUTDOWN_RPC_KEY": dump_key(KEY),
    }
    proc = await asyncio.to_thread(run, "send", "--room", "r1", "--agent", "agent-1", f"{flag}={value}", env=env)
    assert proc.returncode == cli.EXIT_USAGE, proc.stdout + proc.stderr
    assert "seconds" in proc.stderr and "Traceback" not in proc.stderr
