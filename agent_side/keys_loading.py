"""Where an agent's verification keys come from: code, key files, or the SHUTDOWN_RPC_KEYS environment variable.

``SHUTDOWN_RPC_KEYS`` holds one of: a key file's JSON object; a JSON array of key objects and/or file paths;
or file paths separated by ``os.pathsep``. Ed25519 private keys are reduced to their public half.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from shutdown_rpc.protocol import AnyKey, KeyRing, VerifyingKey, parse_key, verifying_key_of
from shutdown_rpc.protocol.keyfile import MAX_KEY_FILE_BYTES

KEYS_ENV = "SHUTDOWN_RPC_KEYS"


def read_key_file(path: str | os.PathLike[str]) -> VerifyingKey:
    """The verifying key in one key file. Errors name the file, never its content."""
    p = Path(path)
    with p.open("rb") as handle:
        data = handle.read(MAX_KEY_FILE_BYTES + 1)
    try:
        return verifying_key_of(parse_key(data.decode("utf-8")))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{p}: {exc}") from None


def keys_from_env_value(value: str) -> list[VerifyingKey]:
    """Parse the value of ``SHUTDOWN_RPC_KEYS`` (see module docstring)."""
    text = value.strip()
    if not text:
        return []
    if text.startswith("{"):
        return [verifying_key_of(parse_key(text))]
    if text.startswith("["):
        try:
            items = json.loads(text)
        except ValueError:
            raise ValueError(f"{KEYS_ENV} is not valid JSON") from None
        keys: list[VerifyingKey] = []
        for item in items:
            if isinstance(item, dict):
                keys.append(verifying_key_of(parse_key(json.dumps(item))))
            elif isinstance(item, str):
                keys.append(read_key_file(item))
            else:
                raise ValueError(f"{KEYS_ENV}: array items must be key objects or file paths")
        return keys
    return [read_key_file(part) for part in text.split(os.pathsep) if part]


def load_key_ring(
    keys: KeyRing | Iterable[AnyKey] | None = None,
    *,
    files: Iterable[str | os.PathLike[str]] = (),
    env: Mapping[str, str] | None = None,
) -> KeyRing:
    """One KeyRing from keys given in code, key files and ``env[SHUTDOWN_RPC_KEYS]`` (``os.environ`` if None).

    The environment is read only when neither ``keys`` nor ``files`` are given, so code wins over deployment
    defaults. A key id given twice is an error.
    """
    collected: list[VerifyingKey] = []
    if keys is not None:
        collected.extend(keys.values() if isinstance(keys, KeyRing) else (verifying_key_of(k) for k in keys))
    collected.extend(read_key_file(path) for path in files)
    if keys is None and not collected:
        environ = os.environ if env is None else env
        collected.extend(keys_from_env_value(environ.get(KEYS_ENV, "")))
    return KeyRing(collected)
