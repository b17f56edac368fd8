"""Key files written and read by backends and the CLI: a symbolic link at the path is never written through, the mode
is checked on the file actually read, and oversized or non-regular files are refused."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from shutdown_rpc.client_side import _cli as cli
from shutdown_rpc.client_side import load_signing_key
from shutdown_rpc.client_side._key_files import load_key, read_key_with_warning, write_key_file
from shutdown_rpc.protocol import Ed25519SigningKey, HmacSha256Key, dump_key_file
from shutdown_rpc.protocol.wire import MAX_KEY_FILE_BYTES

KEY = HmacSha256Key("backend-1", b"k" * 32)
TARGET_CONTENT = "do not touch\n"


@pytest.fixture
def link_to_target(tmp_path: Path) -> tuple[Path, Path]:
    target = tmp_path / "elsewhere" / "target"
    target.parent.mkdir()
    target.write_text(TARGET_CONTENT)
    target.chmod(0o644)
    link = tmp_path / "keys" / "key.json"
    link.parent.mkdir()
    link.symlink_to(target)
    return link, target


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def entries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_overwrite_replaces_a_symlink_and_never_writes_its_target(link_to_target: tuple[Path, Path]) -> None:
    link, target = link_to_target
    write_key_file(link, dump_key_file(KEY), secret=True, overwrite=True)
    assert target.read_text() == TARGET_CONTENT and mode_of(target) == 0o644
    assert not link.is_symlink() and link.is_file()
    assert json.loads(link.read_text())["key_id"] == KEY.key_id
    assert mode_of(link) == 0o600
    assert entries(link.parent) == ["key.json"]  # no temporary file left behind


@pytest.mark.parametrize("dangling", [False, True])
def test_without_overwrite_an_existing_symlink_is_refused(link_to_target: tuple[Path, Path], dangling: bool) -> None:
    link, target = link_to_target
    if dangling:
        target.unlink()
    with pytest.raises(FileExistsError) as info:
        write_key_file(link, dump_key_file(KEY), secret=True)
    assert info.value.filename == str(link)
    assert link.is_symlink()
    assert dangling or target.read_text() == TARGET_CONTENT
    assert not dangling or not target.exists()  # a dangling link's target is not created either
    assert entries(link.parent) == ["key.json"]


def test_without_overwrite_an_existing_file_is_refused_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text("old")
    with pytest.raises(FileExistsError):
        write_key_file(path, dump_key_file(KEY), secret=True)
    assert path.read_text() == "old" and entries(tmp_path) == ["key.json"]


@pytest.mark.parametrize(("secret", "mode"), [(True, 0o600), (False, 0o644)])
def test_modes_whatever_the_umask_and_the_previous_file(tmp_path: Path, secret: bool, mode: int) -> None:
    path = tmp_path / "key.json"
    write_key_file(path, "first", secret=secret)
    assert mode_of(path) == mode and path.read_text() == "first"
    path.chmod(0o666)
    old_umask = os.umask(0o077 if not secret else 0o000)
    try:
        write_key_file(path, "second", secret=secret, overwrite=True)
    finally:
        os.umask(old_umask)
    assert mode_of(path) == mode and path.read_text() == "second"
    assert entries(tmp_path) == ["key.json"]


def test_missing_directory_names_the_destination(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "key.json"
    with pytest.raises(FileNotFoundError) as info:
        write_key_file(path, dump_key_file(KEY), secret=True)
    assert info.value.filename == str(path)


def test_keygen_force_onto_a_symlink_leaves_the_target_alone(link_to_target: tuple[Path, Path]) -> None:
    link, target = link_to_target
    assert cli.main(["keygen", "--algorithm", "hmac", "--key-id", "backend-1", "--out", str(link)]) != 0
    assert target.read_text() == TARGET_CONTENT
    assert cli.main(["keygen", "--algorithm", "hmac", "--key-id", "backend-1", "--out", str(link), "--force"]) == 0
    assert target.read_text() == TARGET_CONTENT and mode_of(target) == 0o644
    assert not link.is_symlink() and mode_of(link) == 0o600


def test_keygen_ed25519_refuses_a_dangling_symlink_as_public_file_before_writing(tmp_path: Path) -> None:
    out, pub = tmp_path / "ops.json", tmp_path / "ops.json.pub"
    pub.symlink_to(tmp_path / "nowhere")
    assert cli.main(["keygen", "--algorithm", "ed25519", "--key-id", "ops-1", "--out", str(out)]) != 0
    assert not out.exists() and not (tmp_path / "nowhere").exists()


def test_read_follows_a_symlink_and_checks_the_target_mode(link_to_target: tuple[Path, Path]) -> None:
    # Secret volumes (Kubernetes) hand out keys as symlinks; the mode that matters is the target's.
    link, target = link_to_target
    target.write_text(dump_key_file(KEY))
    target.chmod(0o644)
    key, warning = read_key_with_warning(link)
    assert key == KEY
    assert warning is not None and "644" in warning


def test_read_refuses_an_oversized_file(tmp_path: Path) -> None:
    text = dump_key_file(KEY)
    path = tmp_path / "big.json"
    path.write_text(text + " " * (MAX_KEY_FILE_BYTES + 1 - len(text)))
    path.chmod(0o600)
    with pytest.raises(ValueError, match=f"larger than {MAX_KEY_FILE_BYTES} bytes"):
        read_key_with_warning(path)
    path.write_text(text + " " * (MAX_KEY_FILE_BYTES - len(text)))  # exactly the limit is fine
    assert read_key_with_warning(path)[0] == KEY
    path.write_bytes(b" " * (50 * MAX_KEY_FILE_BYTES))
    with pytest.raises(ValueError, match="larger than"):
        read_key_with_warning(path)


def test_read_refuses_non_regular_files_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        read_key_with_warning(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        read_key_with_warning(tmp_path)


@pytest.mark.parametrize(
    ("key", "mode", "warned"),
    [
        (KEY, 0o600, False),
        (KEY, 0o640, True),
        (Ed25519SigningKey.from_seed("ops-1", b"s" * 32), 0o604, True),
        (Ed25519SigningKey.from_seed("ops-1", b"s" * 32).verifying_key(), 0o644, False),
    ],
)
def test_read_warns_about_secret_files_open_to_others(tmp_path: Path, key: object, mode: int, warned: bool) -> None:
    path = tmp_path / "key.json"
    path.write_text(dump_key_file(key))  # type: ignore[arg-type]
    path.chmod(mode)
    _, warning = read_key_with_warning(path)
    assert (warning is not None) is warned
    assert warning is None or f"mode {mode:o}" in warning


def test_read_errors_never_carry_key_material(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text(dump_key_file(KEY).replace('"hmac-sha256"', '"nope"'))
    with pytest.raises(ValueError) as info:
        read_key_with_warning(path)
    assert json.loads(dump_key_file(KEY))["secret"] not in str(info.value)
    with pytest.raises(ValueError, match="cannot read key file"):
        load_key(str(tmp_path / "missing.json"))


def test_a_secret_pasted_as_a_key_path_is_never_echoed(tmp_path: Path) -> None:
    # issue 11 defect 7: "cannot read key file '<the secret>'" for --key-file / SHUTDOWN_RPC_KEY_FILE
    pasted = [dump_key_file(KEY), json.loads(dump_key_file(KEY))["secret"]]
    for value in pasted:
        for path, env, source in (
            (value, {}, "--key-file"),
            (None, {"SHUTDOWN_RPC_KEY_FILE": value}, "$SHUTDOWN_RPC_KEY_FILE"),
        ):
            with pytest.raises(ValueError) as info:
                load_key(path, env, source="--key-file")
            assert str(info.value).startswith(f"{source}: cannot read key file")
            assert value not in str(info.value) and json.loads(dump_key_file(KEY))["secret"] not in str(info.value)
        proc_err = _cli_usage_error(["mint", "--room", "r", "--agent", "a", "--key-file", value])
        assert value not in proc_err and "--key-file: cannot read key file" in proc_err


def _cli_usage_error(argv: list[str]) -> str:
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert cli.main(argv) == cli.EXIT_USAGE
    return err.getvalue()


def test_load_signing_key_errors_name_the_path_not_the_words_key_file_path(tmp_path: Path) -> None:
    # issue 19: the message said "key file path: cannot read key file" instead of naming the path
    missing = tmp_path / "backend.key.json"
    with pytest.raises(ValueError) as info:
        load_signing_key(str(missing))
    assert str(info.value) == f"key file ({missing}): cannot read key file: No such file or directory"
    pasted = base64.b64encode(b"k" * 32).decode()  # a secret pasted where the path belongs is not echoed
    with pytest.raises(ValueError) as info:
        load_signing_key(pasted, source="--key-file")
    assert str(info.value) == "--key-file: cannot read key file: No such file or directory"
