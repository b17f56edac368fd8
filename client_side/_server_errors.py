"""What went wrong when talking to the LiveKit server API, and what to do, in one line each.

A backend's first run usually fails on configuration: a URL without a scheme, a URL with a path, a server that
is not running, credentials of another server. These messages name the setting (``LIVEKIT_URL``,
``LIVEKIT_API_KEY``, ``LIVEKIT_API_SECRET``, or the CLI's ``--url``/``--api-key``) and the fix. No message
carries a secret.
"""

from __future__ import annotations

import json
import socket
import ssl
from urllib.parse import urlsplit

import aiohttp

SCHEMES = ("ws", "wss", "http", "https")
URL_SETTING = "LIVEKIT_URL (or --url)"
CREDENTIALS_SETTING = "LIVEKIT_API_KEY / LIVEKIT_API_SECRET"
URL_FORMS = "ws://HOST:PORT for a local livekit-server, wss://<project>.livekit.cloud for LiveKit Cloud"


def check_server_url(url: str) -> None:
    """Raise ValueError (saying what to write instead) unless ``url`` is a LiveKit server URL with a scheme."""
    if "://" not in url:
        raise ValueError(f"{URL_SETTING} {url!r} has no scheme: write ws://{url} (or wss:// with TLS); {URL_FORMS}")
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise ValueError(f"{URL_SETTING} {url!r}: scheme {parts.scheme!r} is not one of {', '.join(SCHEMES)}")
    if not parts.hostname:
        raise ValueError(f"{URL_SETTING} {url!r} has no host; {URL_FORMS}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        raise ValueError(f"{URL_SETTING} {url!r}: the port is not a number from 1 to 65535") from None


def _where(url: str) -> str:
    parts = urlsplit(url)
    default = 443 if parts.scheme in ("wss", "https") else 80
    return f"{parts.hostname}:{parts.port or default}"


def explain_unreachable(url: str, exc: BaseException) -> str:
    """One line for a failure before any HTTP answer: refused, TLS, DNS, invalid URL, dropped connection."""
    where = _where(url)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"the TLS certificate of {where} was refused ({exc.certificate_error}); check {URL_SETTING}"
    if isinstance(exc, aiohttp.ClientSSLError) or isinstance(getattr(exc, "os_error", None), ssl.SSLError):
        return (
            f"TLS handshake with {where} failed: a server without TLS (a local livekit-server) takes ws://, "
            f"not wss:// or https://; check {URL_SETTING}"
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, ConnectionRefusedError):
            return (
                f"connection refused by {where}: no LiveKit server listens there. Start one (livekit-server --dev, "
                f"or python -m harness.dev_server in a checkout of this project) or fix {URL_SETTING}"
            )
        if isinstance(os_error, socket.gaierror):
            return f"cannot resolve the host of {where}; check {URL_SETTING}"
        return f"cannot connect to {where} ({os_error.strerror or type(os_error).__name__}); check {URL_SETTING}"
    if isinstance(exc, aiohttp.InvalidURL):
        return f"{URL_SETTING} is not a valid URL; {URL_FORMS}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return f"{where} closed the connection without an answer; is it a LiveKit server? ({URL_SETTING})"
    return f"cannot reach the LiveKit server at {where}: {type(exc).__name__}"


def explain_http_status(url: str, status: int) -> str | None:
    """One line for an HTTP status that means a configuration error (401, 403, 404); None for any other."""
    if status == 401:
        return (
            f"the server at {_where(url)} refused the API credentials (HTTP 401): {CREDENTIALS_SETTING} are not a "
            "key pair of this server (livekit-server --dev accepts devkey / secret)"
        )
    if status == 403:
        return f"the API key has no room admin permission for this room (HTTP 403): check {CREDENTIALS_SETTING}"
    if status == 404:
        path = urlsplit(url).path
        hint = f"drop the path {path!r}" if path.strip("/") else "is it a LiveKit server?"
        return (
            f"HTTP 404 from {_where(url)} for the RoomService API: {URL_SETTING} must be the server's base URL "
            f"({hint}); {URL_FORMS}"
        )
    return None


def split_rpc_error_text(text: str) -> tuple[str, str | None]:
    """(message, data) of the text after ``RpcError <code>: `` (spec §2).

    livekit-server formats ``RpcError %d: %s: %s`` (message, data) or, without data, ``RpcError %d: %s``. The
    data starts at the last ``: {`` when the text ends with ``}`` and that tail is a JSON object; otherwise the
    whole text is the message (a detail may contain ``: {`` and end in ``}`` itself).
    """
    split = text.rfind(": {")
    if split < 0 or not text.endswith("}"):
        return text, None
    candidate = text[split + 2 :]
    try:
        parsed = json.loads(candidate)
    except (ValueError, RecursionError):
        return text, None
    if not isinstance(parsed, dict):
        return text, None
    return text[:split], candidate
