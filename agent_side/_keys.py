"""Where an agent's verification keys come from: code, key files, or the SHUTDOWN_RPC_KEYS environment variable.

``SHUTDOWN_RPC_KEYS`` holds one of: a key file's JSON object; a JSON array of key objects and/or file paths;
or file paths separated by ``os.pathsep``. Ed25519 private keys are reduced to their public half.

Deployment configuration never ends a job (:func:`load_keys_tolerantly`): an entry that cannot be loaded is
left out and reported, the others load. Errors about an entry of ``SHUTDOWN_RPC_KEYS`` name its position
(``entry #2``), and its value only when ``shown_path`` deems it a path (on disk, or with a file name's dot, which
no base64 or hex secret has): a key pasted where a path belongs never ends up in a log or a traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from shutdown_rpc._key_files import KeyFileRead, read_key_and_mode, read_key_and_mode_from, shown_path
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
# A caller's UNKNOWN_KEY detail when some configured keys did not load (the log names which; the caller is not
# told this agent's paths).
FAILED_KEYS_DETAIL = "this agent's keys could not be loaded ({failed} of {configured} failed; see the agent's log)"


@dataclass(frozen=True)
class KeyLoadFailure:
    """One configured key entry that did not load: where it was configured, and why (never the key's value)."""

    source: str  # e.g. "SHUTDOWN_RPC_KEYS entry #2 (/keys/ops-2.pub)", "key_files entry #1 (ops.pub)"
    problem: str

    def __str__(self) -> str:
        return f"{self.source}: {self.problem}"


@dataclass(frozen=True)
class LoadedKeys:
    """The keys that loaded, and the configured entries that did not."""

    ring: KeyRing
    failures: tuple[KeyLoadFailure, ...] = ()

    @property
    def configured(self) -> int:
        """How many key entries were configured (loaded or not)."""
        return len(self.ring) + len(self.failures)

    def unknown_key_detail(self) -> str | None:
        """What a caller whose key id is unknown is told, when this agent knows why (None: plain "unknown")."""
        if self.failures:
            return FAILED_KEYS_DETAIL.format(failed=len(self.failures), configured=self.configured)
        return None if self.ring else NO_KEYS_DETAIL

    def error_log(self, *, unsigned_allowed: bool) -> str | None:
        """The one ERROR a job logs about its keys, or None when there is nothing to say."""
        if not self.failures:
            return None if self.ring or unsigned_allowed else NO_KEYS_LOG
        listed = "; ".join(str(f) for f in self.failures)
        if self.ring:
            head = f"remote shutdown: {len(self.failures)} of {self.configured} configured keys could not be loaded"
            tail = f"loaded: {', '.join(self.ring)}; requests signed with the others are refused with UNKNOWN_KEY"
        else:
            head = "remote shutdown DISABLED for this job: none of its configured keys could be loaded"
            tail = "every signed request is refused with UNKNOWN_KEY"
        return f"{head}: {listed}. The job carries on; {tail}. {KEYS_ENV_FORMS}."


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


def _strip_label(message: str, label: str) -> str:
    return message.removeprefix(f"{label}: ")


Entry = VerifyingKey | KeyLoadFailure


def _env_entries(value: str) -> Iterator[Entry]:
    """Each entry of a ``SHUTDOWN_RPC_KEYS`` value, loaded or failed (see module docstring)."""
    text = value.strip()
    if not text:
        return
    if text.startswith("{"):
        try:
            yield _verifying(parse_key_file(text), KEYS_ENV)
        except (ValueError, RecursionError) as exc:
            yield KeyLoadFailure(f"{KEYS_ENV} (a key object)", _problem(exc))
        return
    if text.startswith("["):
        yield from _env_array_entries(text)
        return
    for position, part in enumerate(text.split(os.pathsep), 1):
        if part:
            yield _env_path_entry(part, position)


def _env_array_entries(text: str) -> Iterator[Entry]:
    try:
        items = json.loads(text)
    except (ValueError, RecursionError):
        yield KeyLoadFailure(f"{KEYS_ENV} (a JSON array)", "not valid JSON (truncated?)")
        return
    for position, item in enumerate(items, 1):
        label = f"{KEYS_ENV} entry #{position}"
        if isinstance(item, dict):
            try:
                yield _verifying(parse_key_file(json.dumps(item)), label)
            except (ValueError, RecursionError) as exc:
                yield KeyLoadFailure(label, _problem(exc))
        elif isinstance(item, str):
            yield _env_path_entry(item, position)
        else:
            yield KeyLoadFailure(label, "array items must be key objects or file paths")


def _env_path_entry(path: str, position: int) -> Entry:
    label = f"{KEYS_ENV} entry #{position}"
    try:
        return _read_env_entry(path, position)
    except (ValueError, RecursionError) as exc:
        source = label + shown_path(path)
        return KeyLoadFailure(source, _strip_label(_problem(exc), source))


def _file_entries(files: Iterable[str | os.PathLike[str]]) -> Iterator[Entry]:
    for position, path in enumerate(files, 1):
        source = f"key_files entry #{position} ({os.fspath(path)})"
        try:
            yield read_verifying_key(path)
        except OSError as exc:
            yield KeyLoadFailure(source, f"cannot read key file: {exc.strerror or type(exc).__name__}")
        except (ValueError, RecursionError) as exc:
            yield KeyLoadFailure(source, _strip_label(_problem(exc), str(path)))


def _code_keys(keys: KeyRing | Iterable[AnyKey] | None) -> list[VerifyingKey]:
    """The verifying keys of ``keys=`` (objects given in code: they cannot fail to load)."""
    if keys is None:
        return []
    if isinstance(keys, KeyRing):
        return list(keys.values())
    return [_verifying(k, f"keys entry #{n}") for n, k in enumerate(keys, 1)]


def _problem(exc: BaseException) -> str:
    return "nested too deeply" if isinstance(exc, RecursionError) else str(exc)


def keys_from_env_value(value: str) -> list[VerifyingKey]:
    """Parse the value of ``SHUTDOWN_RPC_KEYS`` (see module docstring); ValueError on the first bad entry."""
    keys: list[VerifyingKey] = []
    for entry in _env_entries(value):
        if isinstance(entry, KeyLoadFailure):
            raise ValueError(str(entry)) from None
        keys.append(entry)
    return keys


def load_keys_tolerantly(
    keys: KeyRing | Iterable[AnyKey] | None = None,
    *,
    files: Iterable[str | os.PathLike[str]] = (),
    env: Mapping[str, str] | None = None,
) -> LoadedKeys:
    """The keys of :func:`load_key_ring`, never raising for deployment configuration: each key file or
    ``SHUTDOWN_RPC_KEYS`` entry that cannot be loaded (missing, a directory or FIFO, unreadable, empty or
    truncated JSON, not a key, non-canonical base64, a key id given twice) becomes a :class:`KeyLoadFailure`;
    the entries that load are kept. Keys given in code (``keys=``) are objects: they cannot fail to load.
    """
    collected = _code_keys(keys)
    files = list(files)
    entries: Iterable[Entry] = _file_entries(files)
    if keys is None and not files:
        environ = os.environ if env is None else env
        entries = _env_entries(environ.get(KEYS_ENV, ""))
    failures: list[KeyLoadFailure] = []
    seen = {key.key_id for key in collected}
    for entry in entries:
        if isinstance(entry, KeyLoadFailure):
            failures.append(entry)
        elif entry.key_id in seen:
            failures.append(KeyLoadFailure(f"key id {entry.key_id!r}", "given twice; the first one is used"))
        else:
            seen.add(entry.key_id)
            collected.append(entry)
    return LoadedKeys(KeyRing(collected), tuple(failures))


def load_key_ring(
    keys: KeyRing | Iterable[AnyKey] | None = None,
    *,
    files: Iterable[str | os.PathLike[str]] = (),
    env: Mapping[str, str] | None = None,
) -> KeyRing:
    """One KeyRing from keys given in code, key files and ``env[SHUTDOWN_RPC_KEYS]`` (``os.environ`` if None).

    The environment is read only when neither ``keys`` nor ``files`` are given, so code wins over deployment
    defaults. Strict: the first entry that cannot be loaded raises (ValueError, or OSError for a key file named
    in code), as does a key id given twice. ``enable_remote_shutdown`` uses :func:`load_keys_tolerantly`.
    """
    collected = _code_keys(keys)
    collected.extend(read_verifying_key(path) for path in files)
    if keys is None and not collected:
        environ = os.environ if env is None else env
        collected.extend(keys_from_env_value(environ.get(KEYS_ENV, "")))
    return KeyRing(collected)
