"""The shutdown reason string a remote request hands to ``JobContext.shutdown`` (spec.md), and its parser.

Format: ``remote shutdown by {issuer} [{request_id}]: {reason}``. Shutdown callbacks receive it verbatim, so
they can tell a remote request from other endings ("room disconnected", "user requested", ...) and still show
the caller's own words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shutdown_rpc.protocol.wire import REQUEST_ID_PATTERN

PREFIX = "remote shutdown by "

# The issuer is matched lazily: the free-text reason is likelier to contain "[<id>]: " than the issuer is.
_REASON_RE = re.compile(
    rf"remote shutdown by (?P<issuer>.+?) \[(?P<request_id>{REQUEST_ID_PATTERN})\]: (?P<reason>.*)\Z", re.S
)


@dataclass(frozen=True)
class RemoteShutdownReason:
    """The parts of a remote shutdown reason string."""

    issuer: str
    request_id: str
    reason: str


def format_reason(issuer: str, request_id: str, reason: str) -> str:
    """``remote shutdown by {issuer} [{request_id}]: {reason}``."""
    return f"{PREFIX}{issuer} [{request_id}]: {reason}"


def parse_reason(text: str) -> RemoteShutdownReason | None:
    """The parts of ``text`` if it is a remote shutdown reason, else None (any other ending)."""
    match = _REASON_RE.match(text)
    if match is None:
        return None
    return RemoteShutdownReason(match["issuer"], match["request_id"], match["reason"])


def is_remote_reason(text: str) -> bool:
    """Whether a shutdown reason came from a remote shutdown request."""
    return parse_reason(text) is not None
