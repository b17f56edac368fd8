"""Where an agent's verification keys come from: code, key files, or the SHUTDOWN_RPC_KEYS environment variable.

``SHUTDOWN_RPC_KEYS`` holds one of: a key file's JSON object; a JSON array of key objects and/or file paths;
or file paths separated by ``os.pathsep``. Ed25519 private keys are reduced to their public half.

Errors about an entry of ``SHUTDOWN_RPC_KEYS`` name its position (``entry #2``), never its value: a value that
was meant to be a key but is not JSON is read as a path, and must not end up in a log or a traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping

from shutdown_rpc._key_files import KeyFileRead, read_key_and_mode, read_key_and_mode_from
from shutdown_rpc._log import logger
from shutdown_rpc.protocol import Ed25519SigningKey, KeyRing, VerifyingKey, parse_key_file
from shutdown_rpc.protocol.wire import AnyKey, verifying_key_of

KEYS_ENV = "SHUTDOWN_RPC_KEYS"
KEYS_ENV_FORMS = (
    f"{KEYS_ENV} holds a key file's JSON object, a JSON array of key objects and/or key file paths, "
    f"or key file paths separated by {os.pathsep!r}"
)
# What a caller is told (UNKNOWN_KEY's detail) and what the job logs when an agent has no key at all.
NO_KEYS_DETAIL = f"this agent has no verification keys ({KEYS_ENV} unset): remote shutdown is disabled"
NO_KEYS_LOG = (
    f"remote shutdown DISABLED for this job: no verification keys. {KEYS_ENV_FORMS} (or pass keys= / key_files= "
    "to enable_remote_shutdown). The job carries on; every shutdown request is refused with UNKNOWN_KEY."
)


def read_verifying_key(path: str | os.PathLike[str]) -> VerifyingKey:
    """The verifying key in one key file named in code. Errors name the file, never its content; OSError if it
    cannot be opened; a FIFO or directory is refused without blocking.

    Logs a warning when the file holds a secret (HMAC secret, Ed25519 private key) and is readable or writable
    by group or others.
    """
    return _verifying_key(read_key_and_mode(path, str(path)), str(path))


def _read_env_entry(path: str, position: int) -> VerifyingKey:
    """A key file named by ``SHUTDOWN_RPC_KEYS``: errors and warnings name the entry's position, not its value."""
    label = f"{KEYS_ENV} entry #{position}"
    return _verifying_key(read_key_and_mode_from(path, label), label)


def _verifying_key(read: KeyFileRead, name: str) -> VerifyingKey:
    warning = read.exposure_warning(name)
    if warning is not None:
        logger.warning("%s", warning)
    return _verifying(read.key, name)


def _verifying(key: AnyKey, label: str) -> VerifyingKey:
    """The key an agent verifies with; warns when it was handed an Ed25519 private key it does not need."""
    if isinstance(key, Ed25519SigningKey):
        logger.warning(
            "%s: Ed25519 PRIVATE key %r given to an agent, which needs only the public key: give agents the .pub "
            "file (shutdown-rpc keygen writes both), so that an agent's leak cannot sign requests",
            label,
            key.key_id,
        )
    return verifying_key_of(key)


def keys_from_env_value(value: str) -> list[VerifyingKey]:
    """Parse the value of ``SHUTDOWN_RPC_KEYS`` (see module docstring)."""
    text = value.strip()
    if not text:
        return []
    if text.startswith("{"):
        return [_verifying(parse_key_file(text), KEYS_ENV)]
    if text.startswith("["):
        try:
            items = json.loads(text)
        except (ValueError, RecursionError):
            raise ValueError(f"{KEYS_ENV} is not valid JSON") from None
        keys: list[VerifyingKey] = []
        for position, item in enumerate(items, 1):
            if isinstance(item, dict):
                try:
                    keys.append(_verifying(parse_key_file(json.dumps(item)), f"{KEYS_ENV} entry #{position}"))
                except ValueError as exc:
                    raise ValueError(f"{KEYS_ENV} entry #{position}: {exc}") from None
            elif isinstance(item, str):
                keys.append(_read_env_entry(item, position))
            else:
                raise ValueError(f"{KEYS_ENV} entry #{position}: array items must be key objects or file paths")
        return keys
    parts = text.split(os.pathsep)
    return [_read_env_entry(part, position) for position, part in enumerate(parts, 1) if part]


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
        if isinstance(keys, KeyRing):
            collected.extend(keys.values())
        else:
            collected.extend(_verifying(k, f"keys entry #{n}") for n, k in enumerate(keys, 1))
    collected.extend(read_verifying_key(path) for path in files)
    if keys is None and not collected:
        environ = os.environ if env is None else env
        collected.extend(keys_from_env_value(environ.get(KEYS_ENV, "")))
    return KeyRing(collected)
