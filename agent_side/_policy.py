"""What an agent lets through once a request verifies: key scopes, the unsigned-caller rule, the veto hook,
and the timing knobs of the shutdown that follows."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from shutdown_rpc._patterns import matches
from shutdown_rpc.protocol import MAX_GRACE_MS, ErrorCode, ShutdownRequest, ShutdownRpcError

from ._rate_limit import RateLimit

if TYPE_CHECKING:
    from ._request import RemoteRequest

logger = logging.getLogger("shutdown_rpc.agent_side")

DEFAULT_REPLY_FLUSH_DELAY_S = 0.5
DEFAULT_DRAIN_GRACE_MS = 10_000
DEFAULT_DELETE_ROOM_TIMEOUT_S = 5.0


def scope_matches(entry: str, value: str) -> bool:
    """Whether ``value`` matches one scope entry (spec §7.2): literally, except that ``*`` matches any run of
    characters (possibly empty). Nothing else is special (no ``?``, no ``[...]``), the same rule as the JS
    client's and as the fleet's room selection."""
    return matches(entry, value)


def _matches_any(value: str, entries: frozenset[str]) -> bool:
    return any(scope_matches(entry, value) for entry in entries)


@dataclass(frozen=True)
class KeyScope:
    """Limits on what requests signed with one key id may ask.

    Each entry of ``issuers`` / ``targets`` matches literally (case-sensitive), except that ``*`` matches any
    run of characters, possibly empty: ``"cron-*"`` admits ``cron-`` and ``cron-daily``; ``?`` and ``[...]``
    are ordinary characters. ``targets`` is matched against the request's ``target`` as sent, so the any-agent
    target ``"*"`` passes only an entry that matches the literal ``*`` (e.g. ``"*"`` itself).
    """

    issuers: frozenset[str] | None = None
    targets: frozenset[str] | None = None
    delete_room: bool = True

    def check(self, request: ShutdownRequest) -> None:
        """Raise NOT_AUTHORIZED if ``request`` is outside this scope."""
        if self.issuers is not None and not _matches_any(request.issuer, self.issuers):
            raise ShutdownRpcError(ErrorCode.NOT_AUTHORIZED, "issuer not allowed for this key")
        if self.targets is not None and not _matches_any(request.target, self.targets):
            raise ShutdownRpcError(ErrorCode.NOT_AUTHORIZED, "target not allowed for this key")
        if request.options.delete_room and not self.delete_room:
            raise ShutdownRpcError(ErrorCode.NOT_AUTHORIZED, "delete_room not allowed for this key")


class CallerParticipant(Protocol):
    """The parts of an ``rtc.RemoteParticipant`` the unsigned rule looks at."""

    @property
    def identity(self) -> str: ...

    @property
    def kind(self) -> int: ...

    @property
    def attributes(self) -> Mapping[str, str]: ...


class SelfSetAttributesWarning(UserWarning):
    """An UnsignedCallers rule trusts attributes only, which a participant may be able to set on itself."""


@dataclass(frozen=True)
class UnsignedCallers:
    """Which room participants may send UNSIGNED requests. Every criterion given must hold; at least one is needed.

    ``identities`` entries match like KeyScope entries: literally, ``*`` matching any run of characters. ``*``
    is the one way to ask for a pattern (``ops[1]`` admits only ``ops[1]``); the same rule holds for key scopes
    here and in the JS client, so an entry reads the same everywhere.

    A rule of ``attributes`` alone warns (:class:`SelfSetAttributesWarning`, and a log line) when created.

    The caller must be a participant of the room (a server-side PerformRpc caller is not, so it is refused).
    This trusts the server-set ``caller_identity``: use it only for frontends of rooms you control.

    What each criterion trusts:

    - ``identities``: the identity in the caller's access token (whoever mints tokens decides it).
    - ``kinds``: the participant kind the server reports (set from the token, e.g. AGENT for agent workers).
    - ``attributes``: NOT an authorization on its own. A participant whose token grants
      ``canUpdateOwnMetadata`` (``VideoGrants(can_update_own_metadata=True)``; some token issuers and sample
      apps enable it) can set its OWN attributes at any time with ``local_participant.set_attributes(...)``,
      so ``attributes={"role": "admin"}`` admits anyone who writes ``role=admin`` on themselves. Rely on an
      attribute only if no participant of the room can update its own metadata, i.e. the attribute is set
      solely by your token issuer (token ``attributes``) or your backend (RoomService.UpdateParticipant), and
      preferably combine it with ``identities`` or ``kinds``; otherwise require signed requests.
    """

    identities: frozenset[str] = frozenset()
    kinds: frozenset[int] = frozenset()
    attributes: Mapping[str, str] = field(default_factory=dict)
    delete_room: bool = False

    def __post_init__(self) -> None:
        if not (self.identities or self.kinds or self.attributes):
            raise ValueError("UnsignedCallers needs at least one of identities, kinds, attributes")
        if self.attributes and not (self.identities or self.kinds):
            message = (
                "UnsignedCallers(attributes=...) alone admits any participant that sets these attributes on itself"
                " (a token with canUpdateOwnMetadata): add identities= or kinds=, or make sure no participant"
                " of the room can update its own metadata"
            )
            logger.warning("remote shutdown: %s", message)
            warnings.warn(message, SelfSetAttributesWarning, stacklevel=3)

    def allows(self, participant: CallerParticipant | None) -> bool:
        """Whether this participant (None: not in the room) may send an unsigned request."""
        if participant is None:
            return False
        if self.identities and not _matches_any(participant.identity, self.identities):
            return False
        if self.kinds and participant.kind not in self.kinds:
            return False
        return all(participant.attributes.get(name) == value for name, value in self.attributes.items())


Veto = Callable[["RemoteRequest"], "str | Awaitable[str | None] | None"]
"""Application hook: return a short reason to refuse (VETOED, sent to the caller), or None to proceed."""

OnAccepted = Callable[["RemoteRequest"], "Awaitable[None] | None"]
"""Application hook run once, after the acknowledgement has been returned and before the job shuts down."""


@dataclass(frozen=True)
class ShutdownPolicy:
    """Everything an agent decides beyond the signature. The defaults are the safe ones.

    - ``allow_any_agent``: accept the any-agent target ``"*"`` (else NOT_AUTHORIZED).
    - ``key_scopes``: per key id limits; a key without an entry is unrestricted.
    - ``unsigned``: who may send unsigned requests; None (default) refuses them all.
    - ``veto`` / ``on_accepted``: application hooks, sync or async.
    - ``allow_delete_room``: master switch for the ``delete_room`` option (NOT_AUTHORIZED when off).
    - ``reply_flush_delay_s``: the most the agent waits, after returning the acknowledgement, for the caller's
      receipt before ``ctx.shutdown`` (spec §11). LiveKit hands the reply to its native layer after the
      handler returns and ``Room.disconnect()`` does not flush it; a caller that got the reply says so, and the
      agent leaves at once. Callers that send no receipt wait the whole bound.
    - ``show_reason``: put the caller's reason in the ``shutdown_rpc.reason`` attribute the room sees (spec §10).
    - ``end_dispatch``: delete the job's dispatch right before ``ctx.shutdown`` (room jobs only), so the server
      records the job as a success rather than "agent worker left the room".
    - ``default_drain_grace_ms`` / ``max_drain_grace_ms``: bound of a drain when the request's ``grace_ms`` is
      0, and the cap applied to any request's ``grace_ms``.
    - ``delete_room_timeout_s``: bound of the DeleteRoom call made after the agent has left.
    - ``rate_limit``: per-caller limit on refused attempts.
    """

    allow_any_agent: bool = False
    key_scopes: Mapping[str, KeyScope] = field(default_factory=dict)
    unsigned: UnsignedCallers | None = None
    veto: Veto | None = None
    on_accepted: OnAccepted | None = None
    allow_delete_room: bool = True
    reply_flush_delay_s: float = DEFAULT_REPLY_FLUSH_DELAY_S
    show_reason: bool = False
    end_dispatch: bool = True
    default_drain_grace_ms: int = DEFAULT_DRAIN_GRACE_MS
    max_drain_grace_ms: int = MAX_GRACE_MS
    delete_room_timeout_s: float = DEFAULT_DELETE_ROOM_TIMEOUT_S
    rate_limit: RateLimit = field(default_factory=RateLimit)

    def __post_init__(self) -> None:
        if not 0 <= self.reply_flush_delay_s <= 10:
            raise ValueError("reply_flush_delay_s must be within 0..10")
        if not 0 <= self.default_drain_grace_ms <= MAX_GRACE_MS or not 0 <= self.max_drain_grace_ms <= MAX_GRACE_MS:
            raise ValueError(f"drain grace must be within 0..{MAX_GRACE_MS} ms")
        if self.delete_room_timeout_s <= 0:
            raise ValueError("delete_room_timeout_s must be positive")

    def authorize(self, request: ShutdownRequest, key_id: str | None) -> None:
        """Raise NOT_AUTHORIZED if a verified request asks for more than its key (or unsigned rule) allows."""
        if request.options.delete_room and not self.allow_delete_room:
            raise ShutdownRpcError(ErrorCode.NOT_AUTHORIZED, "delete_room not allowed by this agent")
        if key_id is None:
            if request.options.delete_room and not (self.unsigned is not None and self.unsigned.delete_room):
                raise ShutdownRpcError(ErrorCode.NOT_AUTHORIZED, "delete_room not allowed unsigned")
            return
        scope = self.key_scopes.get(key_id)
        if scope is not None:
            scope.check(request)

    def drain_grace_s(self, request: ShutdownRequest) -> float:
        """How long a drain may last for ``request``."""
        grace_ms = request.options.grace_ms or self.default_drain_grace_ms
        return min(grace_ms, self.max_drain_grace_ms) / 1000
