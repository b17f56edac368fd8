"""Making request payloads: for this package's own calls, and minted for a frontend to relay.

A browser or mobile app never holds a key. Its backend authenticates the user, then :func:`mint_request`
makes a short-lived payload bound to one room and one agent; the frontend only relays the opaque string
with ``performRpc({destinationIdentity: agent, method: METHOD_NAME, payload})``. A stolen minted payload is
good for that one agent in that one room, once (the agent answers a repeat with ``duplicate``), for at most
:data:`MAX_MINT_LIFETIME_S` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from shutdown_rpc.protocol import ANY_AGENT, SigningKey, build_request, sign_request
from shutdown_rpc.protocol.wire import METHOD_NAME, Clock

from ._command import ShutdownCommand

MAX_MINT_LIFETIME_S = 60  # spec §6: a request minted for a frontend lives at most 60 s


def first_error(exc: ValueError) -> str:
    """One line for a ValueError: pydantic's first error with its location, else the message."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "value"
        return f"{where}: {first['msg']}"
    return str(exc)


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
    key: SigningKey | None, command: ShutdownCommand, *, room: str, agent: str, issuer: str, clock: Clock | None = None
) -> SignedPayload:
    """``command`` for ``agent`` in ``room``, signed with ``key`` (``None``: unsigned). ValueError if invalid."""
    request = build_request(
        room=room,
        target=agent,
        reason=command.reason,
        issuer=issuer,
        options=command.options,
        lifetime_s=command.lifetime_s,
        request_id=command.request_id,
        clock=clock,
    )
    payload = sign_request(request, key)
    return SignedPayload(request.request_id, room, agent, request.issued_at, request.expires_at, payload)


def mint_request(
    key: SigningKey,
    command: ShutdownCommand | None = None,
    *,
    room: str,
    agent: str,
    issuer: str,
    clock: Clock | None = None,
) -> SignedPayload:
    """``command`` signed for a frontend to relay: bound to one room and one named agent, short-lived.

    Raises ValueError for a lifetime over MAX_MINT_LIFETIME_S, an empty or wildcard agent, an empty room, or an
    invalid request (pydantic's ValidationError is a ValueError).
    """
    command = command or ShutdownCommand()
    if command.lifetime_s > MAX_MINT_LIFETIME_S:
        raise ValueError(f"a minted request lives 1..{MAX_MINT_LIFETIME_S} s, not {command.lifetime_s}")
    if not agent or agent == ANY_AGENT:
        raise ValueError("a minted request must name one agent identity")
    if not room:
        raise ValueError("a minted request must name its room")
    return make_payload(key, command, room=room, agent=agent, issuer=issuer, clock=clock)
