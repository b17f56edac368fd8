"""Who may end the job once a request verifies: key scopes, the unsigned-caller rule, the veto hook, the
refusal budgets (:class:`AccessPolicy`). How the job then ends is ``_timings``."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from shutdown_rpc._log import logger
from shutdown_rpc._patterns import matches
from shutdown_rpc.protocol import ErrorCode, ShutdownRequest, ShutdownRpcError

from ._rate_limit import RateLimit

if TYPE_CHECKING:
    from ._request import RemoteRequest


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


@dataclass(frozen=True)
class AccessPolicy:
    """Who may end the job, beyond a valid signature. The defaults are the safe ones.

    - ``allow_any_agent``: accept the any-agent target ``"*"`` (else NOT_AUTHORIZED).
    - ``key_scopes``: per key id limits; a key without an entry is unrestricted.
    - ``unsigned``: who may send unsigned requests; None (default) refuses them all.
    - ``veto``: application hook, sync or async: a reason to refuse (VETOED), or None to proceed.
    - ``allow_delete_room``: master switch for the ``delete_room`` option (NOT_AUTHORIZED when off).
    - ``rate_limit``: budgets of refused attempts, per caller and across all callers.

    How an accepted request then ends the job is :class:`~shutdown_rpc.agent_side.EndingTimings`.
    """

    allow_any_agent: bool = False
    key_scopes: Mapping[str, KeyScope] = field(default_factory=dict)
    unsigned: UnsignedCallers | None = None
    veto: Veto | None = None
    allow_delete_room: bool = True
    rate_limit: RateLimit = field(default_factory=RateLimit)

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
