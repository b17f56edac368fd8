"""Issue 23 #8: a key file that group or others may rewrite (or whose folder they may write) is refused, with
an error naming the path and the mode: whoever can rewrite it chooses the key the agent trusts."""

from __future__ import annotations

from pathlib import Path

import pytest

from shutdown_rpc.agent_side._keys import keys_from_env_value, read_verifying_key
from shutdown_rpc.client_side._key_files import load_key
from shutdown_rpc.protocol import Ed25519SigningKey, dump_key_file

PUBLIC = dump_key_file(Ed25519SigningKey.from_seed("ops-1", b"s" * 32).verifying_key())


def key_file(folder: Path, mode: int, folder_mode: int = 0o755) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "ops-1.pub"
    path.write_text(PUBLIC)
    path.chmod(mode)
    folder.chmod(folder_mode)
    return path


@pytest.mark.parametrize("mode", [0o664, 0o646, 0o666])
def test_a_public_key_file_writable_by_group_or_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = key_file(tmp_path / "keys", mode)
    for load in (lambda: read_verifying_key(path), lambda: keys_from_env_value(str(path))):
        with pytest.raises(ValueError) as info:
            load()
        message = str(info.value)
        assert str(path) in message and f"mode {mode:o}" in message and "writable" in message


@pytest.mark.parametrize("folder_mode", [0o775, 0o757, 0o777])
def test_a_key_file_in_a_folder_others_may_write_is_refused(tmp_path: Path, folder_mode: int) -> None:
    path = key_file(tmp_path / "keys", 0o644, folder_mode)
    with pytest.raises(ValueError) as info:
        read_verifying_key(path)
    message = str(info.value)
    assert str(path.parent) in message and f"mode {folder_mode:o}" in message


def test_a_sticky_shared_folder_is_fine(tmp_path: Path) -> None:
    # like /tmp: others may create entries, but not replace or remove this one
    path = key_file(tmp_path / "shared", 0o644, 0o1777)
    assert read_verifying_key(path).key_id == "ops-1"


def test_a_backend_refuses_a_writable_signing_key_file_too(tmp_path: Path) -> None:
    path = tmp_path / "backend.json"
    path.write_text(dump_key_file(Ed25519SigningKey.from_seed("ops-1", b"s" * 32)))
    path.chmod(0o620)
    with pytest.raises(ValueError, match=r"mode 620"):
        load_key(str(path))
