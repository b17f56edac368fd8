"""The documented exit codes of ``shutdown-rpc`` (listed in its --help) and the one mapping from outcomes."""

from __future__ import annotations

from shutdown_rpc.client_side import (
    AgentLeftBeforeReply,
    AgentNotFound,
    NotSupported,
    Refused,
    RoomNotFound,
    SeveralAgents,
    ShutdownFailed,
    ShutdownResult,
    Timeout,
    TransportError,
)

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_REFUSED_RETRYABLE = 4
EXIT_AGENT_NOT_FOUND = 5
EXIT_SEVERAL_AGENTS = 6
EXIT_ROOM_NOT_FOUND = 7
EXIT_TIMEOUT = 8
EXIT_AGENT_LEFT = 9
EXIT_NOT_SUPPORTED = 10
EXIT_TRANSPORT = 11
EXIT_STILL_PRESENT = 12
EXIT_PARTIAL = 13

_FAILURE_CODES: tuple[tuple[type[ShutdownFailed], int], ...] = (
    (SeveralAgents, EXIT_SEVERAL_AGENTS),
    (AgentNotFound, EXIT_AGENT_NOT_FOUND),
    (RoomNotFound, EXIT_ROOM_NOT_FOUND),
    (Timeout, EXIT_TIMEOUT),
    (AgentLeftBeforeReply, EXIT_AGENT_LEFT),
    (NotSupported, EXIT_NOT_SUPPORTED),
    (TransportError, EXIT_TRANSPORT),
)


def exit_code_of(error: ShutdownFailed) -> int:
    """The documented exit code for one failed outcome."""
    if isinstance(error, Refused):
        return EXIT_REFUSED_RETRYABLE if error.retryable else EXIT_REFUSED
    for kind, code in _FAILURE_CODES:
        if isinstance(error, kind):
            return code
    return EXIT_TRANSPORT


def exit_code_of_result(result: ShutdownResult) -> int:
    """The exit code of an acknowledged outcome (12 if --wait ran out with the agent still present)."""
    return EXIT_STILL_PRESENT if result.agent_left is False else EXIT_OK
