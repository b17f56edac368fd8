"""What both callers do once they know the room: pick the agent(s), mint one request each, deliver it, wait.

:class:`~.server_api.ShutdownClient` (server API) and :class:`~.participant.RoomShutdownCaller` (a connected
room) differ only in how they reach an agent (a :class:`~.delivery.Channel`), how they list the room's agents,
and how they see an agent leave; :class:`ShutdownCaller` does the rest for both.
"""

from __future__ import annotations

import abc
from dataclasses import replace

from shutdown_rpc.protocol import SigningKey

from ._command import ShutdownCommand
from ._delivery import Channel, RetryPolicy, check_present, deliver, deliver_to_each
from ._minting import make_payload
from ._outcomes import ShutdownFailed, ShutdownResult


class ShutdownCaller(abc.ABC):
    """Base of the two callers: signs with ``signing_key`` (``None``: unsigned) as ``issuer``, retries per ``retry``."""

    def __init__(self, signing_key: SigningKey | None, *, issuer: str, retry: RetryPolicy | None) -> None:
        self._signing_key = signing_key
        self._issuer = issuer
        self._retry = retry or RetryPolicy()

    @abc.abstractmethod
    def _channel(self, room: str, agent: str) -> Channel:
        """The route to ``agent`` of ``room``."""

    @abc.abstractmethod
    async def _all_agents(self, room: str) -> tuple[str, ...]:
        """Every agent of ``room`` (see agent_discovery): AgentNotFound if none."""

    @abc.abstractmethod
    async def _only_agent(self, room: str) -> str:
        """The one agent of ``room``: AgentNotFound if none, SeveralAgents if more."""

    @abc.abstractmethod
    async def _agent_left(self, room: str, agent: str, *, timeout: float) -> bool:
        """True once ``agent`` has left ``room``, False if still there after ``timeout``."""

    async def _shutdown(
        self, room: str, agent: str | None, command: ShutdownCommand, timeout: float, wait_for_exit: float | None
    ) -> ShutdownResult:
        """One agent (``None``: the room's only one), which must be present now; see the callers' ``shutdown``."""
        if agent is None:
            agent = await self._only_agent(room)
        else:
            await check_present(self._channel(room, agent), room=room, agent=agent, timeout_s=timeout)
        return await self._shutdown_one(room, agent, command, timeout, wait_for_exit)

    async def _shutdown_all(
        self, room: str, command: ShutdownCommand, timeout: float, wait_for_exit: float | None
    ) -> dict[str, ShutdownResult | ShutdownFailed]:
        """Every agent of ``room``, one request each (concurrently); the outcome per identity."""
        if command.request_id is not None:
            raise ValueError("a request id names one request to one agent: shutdown_all sends one per agent")
        agents = await self._all_agents(room)
        return await deliver_to_each(agents, lambda a: self._shutdown_one(room, a, command, timeout, wait_for_exit))

    async def _shutdown_one(
        self, room: str, agent: str, command: ShutdownCommand, timeout: float, wait_for_exit: float | None
    ) -> ShutdownResult:
        signed = make_payload(self._signing_key, command, room=room, agent=agent, issuer=self._issuer)
        result = await deliver(
            self._channel(room, agent),
            signed.payload,
            room=room,
            agent=agent,
            request_id=signed.request_id,
            timeout_s=timeout,
            policy=self._retry,
        )
        if wait_for_exit is None:
            return result
        return replace(result, agent_left=await self._agent_left(room, agent, timeout=wait_for_exit))
