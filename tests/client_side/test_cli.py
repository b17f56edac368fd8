"""The shutdown-rpc console script, run as a subprocess: exit codes, file modes, no secret in any output."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import msgpack
import pytest

from shutdown_rpc.client_side import _cli as cli
from shutdown_rpc.protocol import HmacSha256Key, build_request, dump_key_file
from shutdown_rpc.protocol.wire import encode_body, seal

from .fake_livekit import API_KEY, API_SECRET, FakeLiveKit, RpcErr, agent

SCRIPT = Path(sys.executable).with_name("shutdown-rpc")
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


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "SHUTDOWN_RPC_"))}
    base.update(env or {})
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=base, input=stdin, timeout=60, check=False
    )


def secrets_of(path: Path) -> list[str]:
    data = json.loads(path.read_text())
    return [data[k] for k in ("secret", "private_key") if k in data]


@pytest.fixture
def hmac_key(tmp_path: Path) -> Path:
    path = tmp_path / "hmac.json"
    proc = run("keygen", "--algorithm", "hmac", "--key-id", "backend-1", "--out", str(path))
    assert proc.returncode == 0, proc.stderr
    return path


def test_keygen_hmac_0600_and_no_secret_printed(hmac_key: Path) -> None:
    assert stat.S_IMODE(hmac_key.stat().st_mode) == 0o600
    (secret,) = secrets_of(hmac_key)
    assert len(base64.b64decode(secret)) == 32


def test_keygen_ed25519_writes_public_file(tmp_path: Path) -> None:
    out = tmp_path / "ops.json"
    proc = run("keygen", "--algorithm", "ed25519", "--key-id", "ops-1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    public = json.loads((tmp_path / "ops.json.pub").read_text())
    assert set(public) == {"key_id", "algorithm", "public_key"}
    for secret in secrets_of(out):
        assert secret not in proc.stdout + proc.stderr
    again = run("keygen", "--key-id", "ops-1", "--out", str(out))
    assert again.returncode == cli.EXIT_USAGE and "exists" in again.stderr and "Traceback" not in again.stderr


def test_keygen_into_a_missing_folder_says_so(tmp_path: Path) -> None:
    for extra in ((), ("--public-out", str(tmp_path / "missing" / "k.pub"))):
        target = tmp_path / ("missing" if not extra else "") / "k.json"
        proc = run("keygen", "--key-id", "k-1", "--out", str(target), *extra)
        assert proc.returncode == cli.EXIT_USAGE, proc.stderr
        assert "does not exist (create it first)" in proc.stderr and "FileNotFoundError" not in proc.stderr
        assert not (tmp_path / "k.json").exists()


def test_mint_then_inspect(hmac_key: Path) -> None:
    proc = run("mint", "--key-file", str(hmac_key), "--room", "r1", "--agent", "agent-1", "--reason", "bye")
    assert proc.returncode == 0, proc.stderr
    minted = json.loads(proc.stdout)
    for secret in secrets_of(hmac_key):
        assert secret not in proc.stdout + proc.stderr
    ok = run("inspect", minted["payload"], "--key-file", str(hmac_key), "--room", "r1", "--agent", "agent-1")
    assert ok.returncode == 0 and "ACCEPT" in ok.stdout and '"bye"' in ok.stdout
    wrong = run(
        "inspect", "-", "--key-file", str(hmac_key), "--room", "r1", "--agent", "agent-2", stdin=minted["payload"]
    )
    assert wrong.returncode == cli.EXIT_REFUSED and "WRONG_TARGET" in wrong.stdout
    other = dump_key_file(HmacSha256Key("backend-1", b"z" * 32))
    bad = run("inspect", minted["payload"], env={"SHUTDOWN_RPC_KEY": other})
    assert bad.returncode == cli.EXIT_REFUSED and "BAD_SIGNATURE" in bad.stdout
    late = run("inspect", minted["payload"], "--key-file", str(hmac_key), "--now", str(minted["expiresAt"] + 31))
    assert late.returncode == cli.EXIT_REFUSED and "EXPIRED" in late.stdout
    junk = run("inspect", "not base64!")
    assert junk.returncode == cli.EXIT_REFUSED and "MALFORMED" in junk.stdout


def test_mint_lifetime_bound_and_usage_errors(hmac_key: Path, tmp_path: Path) -> None:
    proc = run("mint", "--key-file", str(hmac_key), "--room", "r1", "--agent", "a", "--lifetime", "600")
    assert proc.returncode == cli.EXIT_USAGE and proc.stderr.count("\n") == 1
    missing = run("mint", "--room", "r1", "--agent", "a")
    assert missing.returncode == cli.EXIT_USAGE and "SHUTDOWN_RPC_KEY" in missing.stderr
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"key_id": "x", "algorithm": "hmac-sha256", "secret": "c2hvcnQ="}')
    bad = run("mint", "--key-file", str(garbage), "--room", "r1", "--agent", "a")
    assert bad.returncode == cli.EXIT_USAGE and "c2hvcnQ" not in bad.stderr and "Traceback" not in bad.stderr


def test_help_documents_exit_codes() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    for code in range(14):
        assert f"\n  {code:>2}  " in proc.stdout


async def _send(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(run, "send", *args, env=env)


async def test_send_exit_codes(fake: tuple[FakeLiveKit, str], hmac_key: Path) -> None:
    server, url = fake
    key = HmacSha256Key("backend-1", base64.b64decode(secrets_of(hmac_key)[0]))
    env = {
        "LIVEKIT_URL": url,
        "LIVEKIT_API_KEY": API_KEY,
        "LIVEKIT_API_SECRET": API_SECRET,
        "SHUTDOWN_RPC_KEY_FILE": str(hmac_key),
    }
    server.add("ok", agent("agent-1", [key]))
    server.add("two", agent("a", [key]), agent("b", [key]))
    server.add("refuse", agent("agent-1", []))
    server.add("veto", agent("agent-1", [key], script=[RpcErr(4133, "VETOED: busy")]))
    server.add("unsupported", agent("agent-1", [key], script=[RpcErr(1400, "Method not supported")]))
    cases = [
        (("--room", "ok", "--reason", "done"), cli.EXIT_OK),
        (("--room", "two"), cli.EXIT_SEVERAL_AGENTS),
        (("--room", "two", "--all", "--json"), cli.EXIT_OK),
        (("--room", "refuse"), cli.EXIT_REFUSED),
        (("--room", "veto"), cli.EXIT_REFUSED_RETRYABLE),
        (("--room", "unsupported"), cli.EXIT_NOT_SUPPORTED),
        (("--room", "missing"), cli.EXIT_ROOM_NOT_FOUND),
        (("--room", "ok", "--agent", "ghost"), cli.EXIT_AGENT_NOT_FOUND),
    ]
    for args, expected in cases:
        proc = await _send(env, *args)
        assert proc.returncode == expected, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert API_SECRET not in proc.stdout + proc.stderr
        assert secrets_of(hmac_key)[0] not in proc.stdout + proc.stderr
    server.add("still", agent("agent-1", [key]))
    waited = await _send(env, "--room", "still", "--wait", "0", "--json")
    assert waited.returncode == cli.EXIT_STILL_PRESENT
    assert json.loads(waited.stdout)["agent_left"] is False
    server.add("mixed", agent("a", [key]), agent("b", []))
    mixed = await _send(env, "--room", "mixed", "--all")
    assert mixed.returncode == cli.EXIT_PARTIAL
    bad_creds = await _send({**env, "LIVEKIT_API_SECRET": "nope" * 10}, "--room", "ok")
    assert bad_creds.returncode == cli.EXIT_TRANSPORT and "nope" not in bad_creds.stderr
    no_url = await _send({k: v for k, v in env.items() if k != "LIVEKIT_URL"}, "--room", "ok")
    assert no_url.returncode == cli.EXIT_USAGE


@pytest.mark.parametrize(
    ("given", "named", "not_named"),
    [
        ({"LIVEKIT_API_SECRET": "s" * 32}, "LIVEKIT_API_KEY is not set (or api_key= / --api-key)", "SECRET"),
        ({"LIVEKIT_API_KEY": "devkey"}, "LIVEKIT_API_SECRET is not set", "LIVEKIT_API_KEY"),
    ],
)
def test_a_missing_api_key_and_a_missing_secret_are_told_apart(
    hmac_key: Path, given: dict[str, str], named: str, not_named: str
) -> None:
    # issue 19: both gave livekit-api's "either token, or api_key and api_secret, must be set" (no --token exists)
    env = {"LIVEKIT_URL": "ws://127.0.0.1:9", "SHUTDOWN_RPC_KEY_FILE": str(hmac_key), **given}
    done = run("send", "--room", "r", env=env)
    assert done.returncode == cli.EXIT_USAGE
    assert named in done.stderr and not_named not in done.stderr.split("error:")[1]
    assert "token" not in done.stderr


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
    proc = run("inspect", payload, env={"SHUTDOWN_RPC_KEY": dump_key_file(KEY)})
    assert proc.returncode == cli.EXIT_REFUSED, proc.stdout + proc.stderr
    assert "REFUSE" in proc.stdout and "Traceback" not in proc.stderr


def test_inspect_prints_fields_of_a_valid_body_escaped() -> None:
    body = _body(reason="a\u200bb")  # a zero-width space: allowed, but not printable
    proc = run(
        "inspect", seal(msgpack.packb(body, use_bin_type=True), KEY), env={"SHUTDOWN_RPC_KEY": dump_key_file(KEY)}
    )
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
        "SHUTDOWN_RPC_KEY": dump_key_file(KEY),
    }
    proc = await asyncio.to_thread(run, "send", "--room", "r1", "--agent", "agent-1", f"{flag}={value}", env=env)
    assert proc.returncode == cli.EXIT_USAGE, proc.stdout + proc.stderr
    assert "seconds" in proc.stderr and "Traceback" not in proc.stderr
