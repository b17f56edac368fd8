"""What a shutdown call ends with: a :class:`ShutdownResult` (the agent acknowledged), or one typed error.

Every error is a :class:`ShutdownFailed`; callers that only care "did it work" catch that. The subclasses say
what happened, and so what to do next:

=========================  ===============================================================================
:class:`Refused`           the agent verified nothing or said no; ``code``/``name``/``retryable`` from spec
:class:`AgentNotFound`     no such agent in the room (or no agent at all), nothing was sent
:class:`SeveralAgents`     several agents in the room and none was named (use ``shutdown_all``)
:class:`RoomNotFound`      the room does not exist, nothing was sent
:class:`Timeout`           no answer within the deadline and the agent is still there
:class:`AgentLeftBeforeReply`  the agent left after the request went out: it most likely shut down
:class:`NotSupported`      the agent does not handle the shutdown method (or this RPC version)
:class:`CallerHidden`      a hidden participant cannot receive RPC replies, so it must not call
:class:`TransportError`    the server, network or credentials failed; ``retryable`` says if later may work
=========================  ===============================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

from shutdown_rpc.protocol import CODE_INFO, Acknowledgement, AckStatus, ErrorCode, ShutdownRpcError
from shutdown_rpc.protocol.wire import Ending


@dataclass(frozen=True)
class ShutdownResult:
    """The agent acknowledged: the job ends (or was already ending). ``agent_left`` is set by wait-for-exit."""

    room: str
    agent_identity: str
    request_id: str
    ack: Acknowledgement
    attempts: int
    elapsed_s: float
    agent_left: bool | None = None

    @property
    def status(self) -> AckStatus:
        """accepted, duplicate (a retry reached an agent that had already accepted) or already_shutting_down."""
        return self.ack.status


class ShutdownFailed(Exception):
    """Base of every failed shutdown call. ``str()`` is one line without secrets."""

    def __init__(self, message: str, *, room: str | None = None, agent: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.room = room
        self.agent = agent

    @property
    def retryable(self) -> bool:
        """Whether calling again later (a new call, new request) may succeed."""
        return False

    def __str__(self) -> str:
        return self.message


class Refused(ShutdownFailed):
    """The agent answered with one of the protocol's refusal codes (4100-4150)."""

    def __init__(self, error: ShutdownRpcError, *, room: str | None = None, agent: str | None = None) -> None:
        info = CODE_INFO[error.code]
        super().__init__(
            f"refused by {agent or 'the agent'}: {error.code.name} ({int(error.code)}): {error.detail}"
            f" [{info.meaning}; {'retryable' if info.retryable else 'not retryable'}]",
            room=room,
            agent=agent,
        )
        self.code: ErrorCode = error.code
        self.name: str = error.code.name
        self.detail: str = error.detail
        self.supported_versions: tuple[int, ...] = error.supported_versions

    @property
    def retryable(self) -> bool:
        """The spec's retryable flag for this code (VETOED, RATE_LIMITED, NOT_YET_VALID, INTERNAL_ERROR)."""
        return CODE_INFO[self.code].retryable


class AgentNotFound(ShutdownFailed):
    """The named agent is not in the room, or no participant there looks like an agent. Nothing was sent."""


class SeveralAgents(ShutdownFailed):
    """No agent was named and the room holds several: name one, or ask for all of them."""

    def __init__(self, identities: tuple[str, ...], *, room: str | None = None) -> None:
        super().__init__(
            f"room {room!r} has {len(identities)} agents ({', '.join(identities)}): name one, or ask for all",
            room=room,
        )
        self.identities = identities


class RoomNotFound(ShutdownFailed):
    """The room does not exist (on this server). Nothing was sent."""


class Timeout(ShutdownFailed):
    """No answer within the overall deadline, and the agent was still in the room (or could not be checked)."""

    @property
    def retryable(self) -> bool:
        """A timeout may be transient."""
        return True


class AgentLeftBeforeReply(ShutdownFailed):
    """The request went out, then the agent (or its room) was gone with no reply: it most likely shut down.

    A caller in the room also saw the agent's attributes, which travel over the signalling connection rather
    than with the lost reply (spec §10). ``ending_announced``: they last said ``ending`` for THIS request, so
    the agent accepted it and the job ends with its reason. ``announced_request_id``: the request id they
    named (this one or another's), ``None`` when they showed no well-formed ending or the caller could not see
    them (the server API). What the agent published, not a signature.
    """

    def __init__(
        self,
        message: str,
        *,
        announced_request_id: str | None = None,
        ending_announced: bool = False,
        room: str | None = None,
        agent: str | None = None,
    ) -> None:
        super().__init__(message, room=room, agent=agent)
        self.announced_request_id = announced_request_id
        self.ending_announced = ending_announced


def left_before_reply(
    where: str, *, request_id: str, ending: Ending | None, room: str, agent: str
) -> AgentLeftBeforeReply:
    """The agent left (``where``) without replying to ``request_id``; ``ending``: what its attributes last showed."""
    announced = ending.request_id if ending is not None else None
    if announced == request_id:
        what = "the agent announced it was ending for this request"
    elif announced is not None:
        what = f"it announced it was ending for another request ({announced})"
    else:
        what = "it most likely shut down"
    return AgentLeftBeforeReply(
        f"no reply from {agent!r} and {where}: {what} (request {request_id})",
        announced_request_id=announced,
        ending_announced=announced == request_id,
        room=room,
        agent=agent,
    )


class NotSupported(ShutdownFailed):
    """The destination does not handle the shutdown method (LiveKit 1400), or RPC itself (1403/1404)."""


class CallerHidden(ShutdownFailed):
    """The calling participant is hidden: the server blanks its identity, so a reply could never reach it."""


class TransportError(ShutdownFailed):
    """The server API, the network, the credentials or the RPC layer failed. ``code`` is LiveKit's, if any."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        code: int | str | None = None,
        room: str | None = None,
        agent: str | None = None,
    ) -> None:
        super().__init__(message, room=room, agent=agent)
        self.code = code
        self._retryable = retryable

    @property
    def retryable(self) -> bool:
        """Whether the failure looked transient (server unavailable, connection reset, ...)."""
        return self._retryable
