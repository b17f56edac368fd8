"""Making request payloads: for this package's own calls, and minted for a frontend to relay.

A browser or mobile app never holds a key. Its backend authenticates the user, then :func:`mint_request`
makes a short-lived payload bound to one room and one agent; the frontend only relays the opaque string
with ``performRpc({destinationIdentity: agent, method: METHOD_NAME, payload})``. A stolen minted payload is
good for that one agent in that one room, once (the agent answers a repeat with ``duplicate``), for at most
:data:`MAX_MINT_LIFETIME_S` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from shutdown_rpc.protocol import (
    ANY_AGENT,
    DEFAULT_LIFETIME_S,
    METHOD_NAME,
    Clock,
    ShutdownOptions,
    SigningKey,
    build_request,
    sign_request,
    unsigned_request,
)


def first_error(exc: ValueError) -> str:
    """One line for a ValueError: pydantic's first error with its location, else the message."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "value"
        return f"{where}: {first['msg']}"
    return str(exc)


DEFAULT_MINT_LIFETIME_S = DEFAULT_LIFETIME_S  # spec §6: 60 s for requests minted for a frontend
MAX_MINT_LIFETIME_S = 60


@dataclass(frozen=True)
class SignedPayload:
    """One request as it travels: its id, where it is bound, its validity window, and the payload string."""

    request_id: str
    room: str
    agent: str
    issued_at: int
    expires_at: int
    payload: str
    method: str = METHOD_NAME

    def to_json_dict(self) -> dict[str, object]:
        """What a mint endpoint returns to its frontend (field names match livekit-client's performRpc)."""
        return {
            "destinationIdentity": self.agent,
            "method": self.method,
            "payload": self.payload,
            "requestId": self.request_id,
            "room": self.room,
            "expiresAt": self.expires_at,
        }


def make_payload(
    key: SigningKey | None,
    *,
    room: str,
    agent: str,
    reason: str,
    issuer: str,
    options: ShutdownOptions | None = None,
    lifetime_s: int = 60,
    request_id: str | None = None,
    clock: Clock | None = None,
) -> SignedPayload:
    """A request for ``agent`` in ``room`` signed with ``key`` (``None``: unsigned). ValueError if invalid."""
    request = build_request(
        room=room,
        target=agent,
        reason=reason,
        issuer=issuer,
        options=options,
        lifetime_s=lifetime_s,
        request_id=request_id,
        clock=clock,
    )
    payload = unsigned_request(request) if key is None else sign_request(request, key)
    return SignedPayload(request.request_id, room, agent, request.issued_at, request.expires_at, payload)


def mint_request(
    key: SigningKey,
    *,
    room: str,
    agent: str,
    reason: str,
    issuer: str,
    options: ShutdownOptions | None = None,
    lifetime_s: int = DEFAULT_MINT_LIFETIME_S,
    clock: Clock | None = None,
) -> SignedPayload:
    """A signed payload for a frontend to relay: bound to one room and one named agent, short-lived.

    Raises ValueError for a lifetime outside 1..MAX_MINT_LIFETIME_S, an empty or wildcard agent, or an
    invalid request (pydantic's ValidationError is a ValueError).
    """
    if not 1 <= lifetime_s <= MAX_MINT_LIFETIME_S:
        raise ValueError(f"a minted request lives 1..{MAX_MINT_LIFETIME_S} s, not {lifetime_s}")
    if not agent or agent == ANY_AGENT:
        raise ValueError("a minted request must name one agent identity")
    if not room:
        raise ValueError("a minted request must name its room")
    return make_payload(
        key, room=room, agent=agent, reason=reason, issuer=issuer, options=options, lifetime_s=lifetime_s, clock=clock
    )
