"""Where a backend's or the CLI's key comes from: an explicit path, the path in ``SHUTDOWN_RPC_KEY_FILE``, or
the key file's JSON text itself in ``SHUTDOWN_RPC_KEY``. Reading and writing files is shutdown_rpc._key_files';
error messages name the source and the path (unless it may be a pasted key: see ``shown_path``), never key material.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from shutdown_rpc._key_files import read_key_and_mode_from, write_key_file
from shutdown_rpc.protocol import SigningKey, parse_key_file
from shutdown_rpc.protocol.wire import AnyKey, signing_key_of

__all__ = ["ENV_KEY", "ENV_KEY_FILE", "load_key", "load_signing_key", "read_key_with_warning", "write_key_file"]

ENV_KEY_FILE = "SHUTDOWN_RPC_KEY_FILE"
ENV_KEY = "SHUTDOWN_RPC_KEY"


def read_key_with_warning(path: Path, source: str = "key file") -> tuple[AnyKey, str | None]:
    """The key in ``path`` and a warning if a secret key file is readable by group or others.

    Errors (ValueError) name ``source``; the path is shown only once it opened as a file.
    """
    read = read_key_and_mode_from(path, source)
    return read.key, read.exposure_warning(f"{source} {str(path)!r}")


def load_key(
    path: str | None, environ: Mapping[str, str] | None = None, *, source: str = "key file"
) -> tuple[AnyKey, str | None]:
    """A key from ``path`` (named ``source`` in errors), else $SHUTDOWN_RPC_KEY_FILE, else $SHUTDOWN_RPC_KEY."""
    env = os.environ if environ is None else environ
    if path:
        return read_key_with_warning(Path(path), source)
    if env.get(ENV_KEY_FILE):
        return read_key_with_warning(Path(env[ENV_KEY_FILE]), f"${ENV_KEY_FILE}")
    if env.get(ENV_KEY):
        try:
            return parse_key_file(env[ENV_KEY]), None
        except ValueError as exc:
            raise ValueError(f"${ENV_KEY}: {exc}") from None
    raise ValueError(f"no key: pass --key-file or set {ENV_KEY_FILE} (a path) or {ENV_KEY} (the key file's JSON)")


def load_signing_key(
    path: str | None, environ: Mapping[str, str] | None = None, *, source: str = "key file"
) -> tuple[SigningKey, str | None]:
    """Like :func:`load_key`, but the key must be able to sign (not an Ed25519 public-only key)."""
    key, warning = load_key(path, environ, source=source)
    return signing_key_of(key), warning
