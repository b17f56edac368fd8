"""The one request value of the client side: what is asked of an agent, whichever way it is sent."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shutdown_rpc.protocol import LIMITS, ShutdownOptions
from shutdown_rpc.protocol._schema import reason_problem
from shutdown_rpc.protocol.wire import REQUEST_ID_PATTERN

_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)
_MAX_GRACE_MS = LIMITS["max_grace_ms"]
_MAX_LIFETIME_S = LIMITS["max_lifetime_s"]


@dataclass(frozen=True)
class ShutdownCommand:
    """What a caller asks: the same value for ``ShutdownClient``, ``RoomShutdownCaller``, ``fleet.end_fleet`` and
    ``mint_request`` (where it goes, room and agent, is an argument of each).

    - ``reason``: free text handed to the agent's shutdown reason (at most 512 UTF-8 bytes, no control character);
    - ``drain``: let the agent finish its current speech first, for at most ``grace_ms`` (0: the agent's default);
    - ``delete_room``: ask the agent to delete the room once it has left;
    - ``lifetime_s``: how long the signed request stays valid (1..300 s; a minted one at most 60);
    - ``request_id``: None (default) for a fresh random id; set it only to resend one request to one agent.

    Checked when made: TypeError for a value of the wrong type, ValueError for one out of range.
    """

    reason: str = ""
    drain: bool = False
    grace_ms: int = 0
    delete_room: bool = False
    lifetime_s: int = LIMITS["default_lifetime_s"]
    request_id: str | None = None

    def __post_init__(self) -> None:
        _expect("reason", self.reason, str)
        for name in ("drain", "delete_room"):
            _expect(name, getattr(self, name), bool)
        for name in ("grace_ms", "lifetime_s"):
            _expect(name, getattr(self, name), int)
        if self.request_id is not None:
            _expect("request_id", self.request_id, str)
        problem = reason_problem(self.reason)
        if problem is not None:
            raise ValueError(f"ShutdownCommand: {problem}")
        if not 0 <= self.grace_ms <= _MAX_GRACE_MS:
            raise ValueError(f"ShutdownCommand: grace_ms must be within 0..{_MAX_GRACE_MS}, not {self.grace_ms}")
        if not 1 <= self.lifetime_s <= _MAX_LIFETIME_S:
            raise ValueError(f"ShutdownCommand: lifetime_s must be within 1..{_MAX_LIFETIME_S}, not {self.lifetime_s}")
        if self.request_id is not None and not _REQUEST_ID.fullmatch(self.request_id):
            raise ValueError("ShutdownCommand: request_id must be 22-64 characters of [A-Za-z0-9_-]")

    @property
    def options(self) -> ShutdownOptions:
        """drain / grace_ms / delete_room as the signed request carries them."""
        return ShutdownOptions(drain=self.drain, grace_ms=self.grace_ms, delete_room=self.delete_room)


def _expect(name: str, value: object, kind: type) -> None:
    # bool is an int subclass: True is not a grace in ms, nor 1 a drain flag
    if type(value) is not kind:
        raise TypeError(f"ShutdownCommand: {name} must be {kind.__name__}, not {type(value).__name__}")
