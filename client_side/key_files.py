"""Key files on disk for backends and the CLI: written 0600 (secret) / 0644 (public), read from a path or env.

The format itself is protocol.keyfile's. Where a key comes from, in order: an explicit path, the path in
``SHUTDOWN_RPC_KEY_FILE``, or the key file's JSON text itself in ``SHUTDOWN_RPC_KEY``. Error messages
name the source, never the key material.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from shutdown_rpc.protocol import AnyKey, SigningKey, parse_key, signing_key_of

ENV_KEY_FILE = "SHUTDOWN_RPC_KEY_FILE"
ENV_KEY = "SHUTDOWN_RPC_KEY"
SECRET_FILE_MODE = 0o600
PUBLIC_FILE_MODE = 0o644


def write_key_file(path: Path, text: str, *, secret: bool, overwrite: bool = False) -> None:
    """Write ``text`` to ``path`` created with mode 0600 (``secret``) or 0644; FileExistsError unless overwrite.

    The mode is set at creation (never a moment world-readable) and again with fchmod, whatever the umask.
    """
    mode = SECRET_FILE_MODE if secret else PUBLIC_FILE_MODE
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    fd = os.open(path, flags, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


def read_key_file(path: Path) -> tuple[AnyKey, str | None]:
    """The key in ``path`` and a warning if a secret key file is readable by group or others."""
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except OSError as exc:
        raise ValueError(f"cannot read key file {str(path)!r}: {exc.strerror}") from None
    try:
        key = parse_key(text)
    except ValueError as exc:
        raise ValueError(f"{str(path)!r}: {exc}") from None
    warning = None
    if mode & (stat.S_IRWXG | stat.S_IRWXO) and _is_secret(key):
        warning = f"key file {str(path)!r} is accessible by group/others (mode {stat.S_IMODE(mode):o}); chmod 600 it"
    return key, warning


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
