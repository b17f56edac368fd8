"""Key files on disk for backends and the CLI: written 0600 (secret) / 0644 (public), read from a path or env.

The format itself is protocol.keyfile's. Where a key comes from, in order: an explicit path, the path in
``SHUTDOWN_RPC_KEY_FILE``, or the key file's JSON text itself in ``SHUTDOWN_RPC_KEY``. Error messages
name the source, never the key material.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from shutdown_rpc.protocol import AnyKey, SigningKey, parse_key, signing_key_of
from shutdown_rpc.protocol.keyfile import MAX_KEY_FILE_BYTES

ENV_KEY_FILE = "SHUTDOWN_RPC_KEY_FILE"
ENV_KEY = "SHUTDOWN_RPC_KEY"
SECRET_FILE_MODE = 0o600
PUBLIC_FILE_MODE = 0o644


def write_key_file(path: Path, text: str, *, secret: bool, overwrite: bool = False) -> None:
    """Write ``text`` to ``path`` with mode 0600 (``secret``) or 0644; FileExistsError unless ``overwrite``.

    The content goes to a new temporary file in the same directory (``O_CREAT|O_EXCL|O_NOFOLLOW``, mode set at
    creation and again with fchmod, whatever the umask), is fsynced, then moved onto ``path`` atomically. A
    symbolic link at ``path`` is replaced (with ``overwrite``) or refused, never followed: the key cannot be
    written into the link's target. Without ``overwrite`` anything already at ``path`` (a dangling link
    included) is refused.
    """
    path = Path(path)
    mode = SECRET_FILE_MODE if secret else PUBLIC_FILE_MODE
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
    try:
        tmp = _write_temp_file(path, text.encode("utf-8"), mode)
        try:
            if overwrite:
                os.replace(tmp, path)
            else:
                _link_no_clobber(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    except OSError as exc:
        if exc.errno is None:
            raise
        # name the destination, not the temporary file (the CLI reports exc.filename)
        raise type(exc)(exc.errno, exc.strerror, str(path)) from None
    _fsync_directory(path.parent)


def _write_temp_file(path: Path, data: bytes, mode: int) -> Path:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(tmp, flags, mode)
            break
        except FileExistsError:
            continue
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def _link_no_clobber(tmp: Path, path: Path) -> None:
    """Put ``tmp`` at ``path`` only if nothing is there (atomic: a hard link never replaces an entry)."""
    try:
        os.link(tmp, path, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as exc:  # pragma: no cover - depends on the file system
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        # a file system without hard links: check again, then rename (a small race window, no link followed)
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path)) from None
        os.replace(tmp, path)


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_key_file(path: Path) -> tuple[AnyKey, str | None]:
    """The key in ``path`` and a warning if a secret key file is readable by group or others.

    The file is opened once (symbolic links are followed: secret volumes such as Kubernetes' are made of them,
    and reading through a link gains an attacker nothing); the permission check is made on that open file (no
    race with a swapped path), and a file larger than ``MAX_KEY_FILE_BYTES`` (or anything but a regular file) is
    refused without being read whole.
    """
    try:
        data, mode = _read_regular_file(path)
    except OSError as exc:
        raise ValueError(f"cannot read key file {str(path)!r}: {exc.strerror}") from None
    if data is None:
        raise ValueError(f"key file {str(path)!r} is not a regular file")
    if len(data) > MAX_KEY_FILE_BYTES:
        raise ValueError(f"key file {str(path)!r} is larger than {MAX_KEY_FILE_BYTES} bytes")
    try:
        key = parse_key(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{str(path)!r}: {exc}") from None
    warning = None
    if mode & (stat.S_IRWXG | stat.S_IRWXO) and _is_secret(key):
        warning = f"key file {str(path)!r} is accessible by group/others (mode {stat.S_IMODE(mode):o}); chmod 600 it"
    return key, warning


def _read_regular_file(path: Path) -> tuple[bytes | None, int]:
    """(at most MAX_KEY_FILE_BYTES + 1 bytes, mode) of the file at ``path``; (None, mode) if not a regular file."""
    # O_NONBLOCK: opening a FIFO planted at the path must not hang (no effect on regular files)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            return None, mode
        chunks: list[bytes] = []
        left = MAX_KEY_FILE_BYTES + 1
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks), mode
    finally:
        os.close(fd)


def _is_secret(key: AnyKey) -> bool:
    try:
        signing_key_of(key)
    except ValueError:
        return False
    return True


def load_key(path: str | None, environ: Mapping[str, str] | None = None) -> tuple[AnyKey, str | None]:
    """A key from ``path``, else $SHUTDOWN_RPC_KEY_FILE, else $SHUTDOWN_RPC_KEY (JSON). ValueError if none."""
    env = os.environ if environ is None else environ
    if path:
        return read_key_file(Path(path))
    if env.get(ENV_KEY_FILE):
        return read_key_file(Path(env[ENV_KEY_FILE]))
    if env.get(ENV_KEY):
        try:
            return parse_key(env[ENV_KEY]), None
        except ValueError as exc:
            raise ValueError(f"${ENV_KEY}: {exc}") from None
    raise ValueError(f"no key: pass --key-file or set {ENV_KEY_FILE} (a path) or {ENV_KEY} (the key file's JSON)")


def load_signing_key(path: str | None, environ: Mapping[str, str] | None = None) -> tuple[SigningKey, str | None]:
    """Like :func:`load_key`, but the key must be able to sign (not an Ed25519 public-only key)."""
    key, warning = load_key(path, environ)
    return signing_key_of(key), warning
