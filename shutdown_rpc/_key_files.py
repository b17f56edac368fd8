"""The one hardened key-file reader and writer, used by the agent, the client and the CLI.

The format is protocol.keyfile's; this module only moves bytes. Reading: one ``open`` with ``O_NONBLOCK`` (a
FIFO planted at the path never blocks), symbolic links followed (secret volumes such as Kubernetes' are made of
them, and reading through a link gains an attacker nothing), regular files only, the mode checked on the open
file (no race with a swapped path), at most ``MAX_KEY_FILE_BYTES + 1`` bytes read; a file that group or
others may rewrite, or that sits in a folder they may write (sticky folders such as /tmp excepted), is refused,
secret or not: whoever can replace it chooses the key. Writing: never through a
symbolic link, mode 0600 for secrets (0644 otherwise) whatever the umask, atomically.

One notion of "secret": a key that can sign (HMAC secret, Ed25519 private key) is a secret, and so is any value
a user handed us as a key *path* until it has opened as a file: error messages name where such a value came
from (``--key-file``, ``SHUTDOWN_RPC_KEYS entry #2``), never the value, so a key pasted where a path belongs is
not echoed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from shutdown_rpc.protocol import parse_key_file
from shutdown_rpc.protocol.wire import MAX_KEY_FILE_BYTES, AnyKey, signing_key_of

SECRET_FILE_MODE = 0o600
PUBLIC_FILE_MODE = 0o644
_WRITE_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH


def is_secret(key: AnyKey) -> bool:
    """Whether ``key`` can sign (and so must never be shown, logged, or left readable by others)."""
    try:
        signing_key_of(key)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class KeyFileRead:
    """A key read from a file, with the file's mode (checked on the open file)."""

    key: AnyKey
    mode: int

    def exposure_warning(self, name: str) -> str | None:
        """A warning if the file holds a secret and group or others may access it, else None."""
        if not (self.mode & (stat.S_IRWXG | stat.S_IRWXO)) or not is_secret(self.key):
            return None
        mode = stat.S_IMODE(self.mode)
        return f"{name}: key file holds a secret but is accessible to group/others (mode {mode:o}); chmod 600 it"


def read_key_and_mode(path: str | os.PathLike[str], name: str) -> KeyFileRead:
    """The key in the file at ``path``; errors after the file opened are ValueError prefixed by ``name``.

    Opening errors are OSError, raised as they come (the caller decides whether the path may be shown).
    ``name`` is how messages name the file: the path itself only when it is not possibly a secret.
    """
    data, mode = _read_regular_file(path)
    if data is None:
        raise ValueError(f"{name}: not a regular file")
    if len(data) > MAX_KEY_FILE_BYTES:
        raise ValueError(f"{name}: key file is larger than {MAX_KEY_FILE_BYTES} bytes")
    try:
        key = parse_key_file(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{name}: {exc}") from None
    rewritable = _rewritable_by_others(path, mode)
    if rewritable is not None:
        raise ValueError(f"{name}: {rewritable}")
    return KeyFileRead(key, mode)


def _rewritable_by_others(path: str | os.PathLike[str], mode: int) -> str | None:
    """Why group or others could replace the key in the file at ``path`` (mode read on the open file), or None.

    A file they may write, or a folder they may write without the sticky bit (where they could rename or
    remove it and put another file in its place): both the folder of the path as given and that of the file
    it resolves to. Only once the file opened and parsed as a key, so naming the path reveals no secret.
    """
    shown = os.fspath(path)
    if mode & _WRITE_BY_OTHERS:
        return (
            f"key file {shown!r} is writable by group/others (mode {stat.S_IMODE(mode):o}): whoever can rewrite it "
            "chooses the key used here; chmod go-w it"
        )
    for folder in dict.fromkeys((os.path.dirname(os.path.abspath(path)), os.path.dirname(os.path.realpath(path)))):
        folder_mode = os.stat(folder).st_mode
        if folder_mode & _WRITE_BY_OTHERS and not folder_mode & stat.S_ISVTX:
            return (
                f"folder {folder!r} of key file {shown!r} is writable by group/others (mode "
                f"{stat.S_IMODE(folder_mode):o}): whoever can write there can put another key file in its "
                "place; chmod go-w the folder, or keep the key in a folder only its owner can write"
            )
    return None


def shown_path(value: str | os.PathLike[str]) -> str:
    """``" (PATH)"`` when a user-supplied path is safe to show, else ``""``: safe when something is on disk there,
    or when it has a file name's dot (no base64 or hex secret has one)."""
    text = os.fspath(value)
    return f" ({text})" if "." in text or os.path.lexists(text) else ""


def read_key_and_mode_from(value: str | os.PathLike[str], source: str) -> KeyFileRead:
    """Like :func:`read_key_and_mode` for a path a user supplied through ``source`` (an option, a variable):
    every error (ValueError) names ``source`` and the path when :func:`shown_path` allows, so a secret pasted
    as a path is never echoed."""
    name = source + shown_path(value)
    try:
        return read_key_and_mode(value, name)
    except OSError as exc:
        # str(exc) would carry the value: strerror only
        raise ValueError(f"{name}: cannot read key file: {exc.strerror or type(exc).__name__}") from None


def _read_regular_file(path: str | os.PathLike[str]) -> tuple[bytes | None, int]:
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
