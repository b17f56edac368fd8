"""Key loading from SHUTDOWN_RPC_KEYS: errors never carry the value (it may be a secret pasted where a path was
expected), and a key file holding a secret that others can read is warned about."""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from shutdown_rpc.agent_side._keys import KEYS_ENV, keys_from_env_value, load_key_ring, read_verifying_key
from shutdown_rpc.protocol import Ed25519SigningKey, dump_key_file
from tests.agent_side.fakes import KEY

DEEP = "[" * 2000 + "]" * 2000

SECRET_LIKE = base64.b64encode(b"secret" * 6).decode()


@pytest.mark.parametrize(
    ("value", "position"),
    [
        (SECRET_LIKE, 1),  # a bare base64 secret: not JSON, so read as a path
        (json.dumps(json.dumps({"key_id": "k", "algorithm": "hmac-sha256", "secret": SECRET_LIKE})), 1),
        (json.dumps([json.loads(dump_key_file(KEY)), SECRET_LIKE]), 2),
        (f"{os.pathsep}{SECRET_LIKE}", 2),
    ],
)
def test_unreadable_env_entry_is_a_value_error_naming_its_position_not_its_value(value: str, position: int) -> None:
    with pytest.raises(ValueError) as info:
        keys_from_env_value(value)
    text = str(info.value)
    assert text == f"{KEYS_ENV} entry #{position}: cannot read key file: No such file or directory"
    assert SECRET_LIKE not in text and SECRET_LIKE not in repr(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_load_key_ring_from_env_does_not_leak_the_value() -> None:
    with pytest.raises(ValueError) as info:
        load_key_ring(env={KEYS_ENV: SECRET_LIKE})
    assert SECRET_LIKE not in str(info.value)


def test_bad_env_entries_name_their_position(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    # a path is shown: it has a file name's dot, which no base64 or hex secret has
    with pytest.raises(ValueError, match=rf"^{KEYS_ENV} entry #2 \({bad}\): key file is not JSON$"):
        keys_from_env_value(json.dumps([json.loads(dump_key_file(KEY)), str(bad)]))
    with pytest.raises(ValueError, match=rf"^{KEYS_ENV} entry #1: key file: key_id missing$"):
        keys_from_env_value(json.dumps([{"algorithm": "hmac-sha256", "secret": SECRET_LIKE}]))
    with pytest.raises(ValueError, match=rf"^{KEYS_ENV} entry #1: array items"):
        keys_from_env_value("[1]")


def test_explicit_key_file_errors_still_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    with pytest.raises(ValueError, match=r"bad\.json: key file is not JSON"):
        read_verifying_key(bad)
    with pytest.raises(FileNotFoundError):
        read_verifying_key(tmp_path / "missing.json")


def _write(path: Path, text: str, mode: int) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("text", "mode", "warned"),
    [
        (dump_key_file(KEY), 0o600, False),
        (dump_key_file(KEY), 0o640, True),
        (dump_key_file(KEY), 0o604, True),
        (dump_key_file(Ed25519SigningKey.from_seed("ops-1", b"s" * 32)), 0o644, True),
        (dump_key_file(Ed25519SigningKey.from_seed("ops-1", b"s" * 32).verifying_key()), 0o644, False),
    ],
)
def test_secret_key_file_open_to_group_or_others_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str, mode: int, warned: bool
) -> None:
    path = _write(tmp_path / "key.json", text, mode)
    for load in (lambda: read_verifying_key(path), lambda: keys_from_env_value(str(path))):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="shutdown_rpc"):
            load()
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        warnings = [m for m in warnings if "group/others" in m]  # not the private-key warning (tested below)
        assert bool(warnings) is warned, warnings
        for message in warnings:
            assert f"mode {mode:o}" in message and "chmod 600" in message
            assert SECRET_LIKE not in message and 'secret"' not in message
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="shutdown_rpc"):
        keys_from_env_value(str(path))
    assert all(str(path) not in r.getMessage() for r in caplog.records)  # env entries by position only


def test_a_fifo_or_directory_is_refused_without_blocking(tmp_path: Path) -> None:
    # issue 11 defect 5: the agent's reader used a plain open(), which blocks forever on a FIFO
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for value in (str(fifo), str(tmp_path)):
        with pytest.raises(ValueError, match="not a regular file"):
            read_verifying_key(value)
        with pytest.raises(ValueError, match=rf"^{KEYS_ENV} entry #1 \({value}\): not a regular file$"):
            keys_from_env_value(value)


ED_PRIVATE = Ed25519SigningKey.from_seed("ops-1", b"s" * 32)


@pytest.mark.parametrize(
    ("given", "label"),
    [
        ("file", "key.json"),
        ("env object", "SHUTDOWN_RPC_KEYS:"),
        ("env array", "SHUTDOWN_RPC_KEYS entry #2:"),
        ("code", "keys entry #1:"),
    ],
)
def test_an_ed25519_private_key_given_to_an_agent_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, given: str, label: str
) -> None:
    path = _write(tmp_path / "key.json", dump_key_file(ED_PRIVATE), 0o600)
    array = json.dumps([json.loads(dump_key_file(KEY)), json.loads(dump_key_file(ED_PRIVATE))])
    loads: dict[str, Callable[[], object]] = {
        "file": lambda: read_verifying_key(path),
        "env object": lambda: keys_from_env_value(dump_key_file(ED_PRIVATE)),
        "env array": lambda: keys_from_env_value(array),
        "code": lambda: load_key_ring([ED_PRIVATE]),
    }
    with caplog.at_level(logging.WARNING, logger="shutdown_rpc"):
        loads[given]()
    (message,) = [r.getMessage() for r in caplog.records]
    assert label in message and "Ed25519 PRIVATE key 'ops-1'" in message and "give agents the .pub file" in message
    private = json.loads(dump_key_file(ED_PRIVATE))["private_key"]
    assert private not in message


def test_public_keys_are_not_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="shutdown_rpc"):
        ring = load_key_ring([ED_PRIVATE.verifying_key(), KEY])
    assert caplog.records == [] and len(ring) == 2


def test_deep_json_in_the_keys_env_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        keys_from_env_value(DEEP)
    with pytest.raises(ValueError, match="not JSON"):
        keys_from_env_value('{"key_id": ' + DEEP + "}")


def test_deep_json_in_a_key_file_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"key_id": ' + DEEP + "}")
    path.chmod(0o600)
    with pytest.raises(ValueError, match="not JSON"):
        read_verifying_key(path)
