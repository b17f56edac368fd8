"""Counting and logging what each call to the shutdown method ended with. Logs never carry keys, signatures
or payloads: request id, caller identity, key id, issuer and the outcome only."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping

from shutdown_rpc._log import logger
from shutdown_rpc.protocol import AckStatus, ErrorCode

ACCEPTED = AckStatus.ACCEPTED.value
DUPLICATE = AckStatus.DUPLICATE.value
ALREADY_SHUTTING_DOWN = AckStatus.ALREADY_SHUTTING_DOWN.value
OUTCOMES: tuple[str, ...] = (ACCEPTED, DUPLICATE, ALREADY_SHUTTING_DOWN, *(c.name.lower() for c in ErrorCode))


def loggable(text: str) -> str:
    """``text`` with every non-printable character escaped as ``\\uXXXX`` (``\\`` doubled first), so a
    peer-chosen string cannot start a new log line: C0/C1 controls, U+2028/U+2029, bidi and format controls."""
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(c if c.isprintable() and c != "\\" else "\\\\" if c == "\\" else f"\\u{ord(c):04x}" for c in text)


def refusal_outcome(code: ErrorCode) -> str:
    """The outcome label of a refusal: the code name in lower case (``bad_signature``)."""
    return code.name.lower()


class OutcomeCounters:
    """Calls by outcome. Every label in OUTCOMES is present (0 until seen), so exporters get a stable set."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter(dict.fromkeys(OUTCOMES, 0))
        self._lock = threading.Lock()  # read from metrics exporters that may run on another thread

    def add(self, outcome: str) -> None:
        """Count one call."""
        with self._lock:
            self._counts[outcome] += 1

    def snapshot(self) -> dict[str, int]:
        """A copy of all counters."""
        with self._lock:
            return dict(self._counts)

    @property
    def refused(self) -> int:
        """Calls that ended with a refusal."""
        with self._lock:
            return sum(n for k, n in self._counts.items() if k not in (ACCEPTED, DUPLICATE, ALREADY_SHUTTING_DOWN))

    def __getitem__(self, outcome: str) -> int:
        with self._lock:
            return self._counts[outcome]


def log_outcome(
    outcome: str,
    *,
    rpc_request_id: str,
    caller: str,
    request_id: str | None = None,
    key_id: str | None = None,
    issuer: str | None = None,
    code: ErrorCode | None = None,
    detail: str | None = None,
    fields: Mapping[str, object] | None = None,
) -> None:
    """One structured log record per call (``extra`` carries the fields; the message repeats them).

    ``caller`` is chosen by the peer: it is escaped (:func:`loggable`) so it cannot forge a line. Refusals
    answered RATE_LIMITED by a budget (all callers', or a caller's own) get no record of their own: floods are
    logged in sum (``_refusal_log``, ``_eviction``).
    """
    caller = loggable(caller)
    extra: dict[str, object] = {
        "shutdown_rpc_outcome": outcome,
        "rpc_request_id": loggable(rpc_request_id),
        "caller_identity": caller,
        "request_id": request_id,
        "key_id": key_id,
        "issuer": issuer,
        "error_code": int(code) if code is not None else None,
        **(fields or {}),
    }
    if code is None:
        logger.info("remote shutdown %s: request %s from %s", outcome, request_id, caller, extra=extra)
    elif code is ErrorCode.INTERNAL_ERROR:
        logger.error("remote shutdown failed: request %s from %s", request_id, caller, extra=extra)
    else:
        logger.warning(
            "remote shutdown refused (%s %d: %s): request %s from %s",
            outcome,
            int(code),
            detail,
            request_id,
            caller,
            extra=extra,
        )
