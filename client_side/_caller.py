"""What both callers do once they know the room: pick the agent(s), mint one request each, deliver it, wait.

:class:`~.server_api.ShutdownClient` (server API) and :class:`~.participant.RoomShutdownCaller` (a connected
room) differ only in how they reach an agent (a :class:`~.delivery.Channel`), how they list the room's agents,
and how they see an agent leave; :class:`ShutdownCaller` does the rest for both.
"""

from __future__ import annotations

import abc
from dataclasses import replace

from shutdown_rpc.protocol import ShutdownOptions, SigningKey

from ._delivery import Channel, RetryPolicy, check_present, deliver, deliver_to_each
from ._minting import make_payload
from ._outcomes import ShutdownFailed, ShutdownResult


class ShutdownCaller(abc.ABC):
    """Base of the two callers: signs with ``signing_key`` (``None``: unsigned) as ``issuer``, retries per ``retry``."""

    def __init__(
        self,
        signing_key: SigningKey | None,
        *,
        issuer: str,
        retry: RetryPolicy | None,
        request_lifetime_s: int,
    ) -> None:
        self._signing_key = signing_key
        self._issuer = issuer
        self._retry = retry or RetryPolicy()
        self._lifetime_s = request_lifetime_s

    @abc.abstractmethod
    def _channel(self, room: str, agent: str) -> Channel:
        """The route to ``agent`` of ``room``."""

    @abc.abstractmethod
    async def _agents(self, room: str, *, all_agents: bool) -> tuple[str, ...]:
        """Every agent of ``room``, or with ``all_agents=False`` its only one (see agent_discovery)."""

    @abc.abstractmethod
    async def _agent_left(self, room: str, agent: str, *, timeout: float) -> bool:
        """True once ``agent`` has left ``room``, False if still there after ``timeout``."""

    async def _shutdown(
        self,
        room: str,
        agent: str | None,
        reason: str,
        options: ShutdownOptions,
        timeout: float,
        wait_for_exit: float | None,
        request_id: str | None,
    ) -> ShutdownResult:
        """One agent (``None``: the room's only one), which must be present now; see the callers' ``shutdown``."""
        if agent is None:
            (agent,) = await self._agents(room, all_agents=False)
        else:
            await check_present(self._channel(room, agent), room=room, agent=agent, timeout_s=timeout)
        return await self._shutdown_one(room, agent, reason, options, timeout, wait_for_exit, request_id)

    async def _shutdown_all(
        self,
        room: str,
        reason: str,
        options: ShutdownOptions,
        timeout: float,
        wait_for_exit: float | None,
    ) -> dict[str, ShutdownResult | ShutdownFailed]:
        """Every agent of ``room``, one request each (concurrently); the outcome per identity."""
        agents = await self._agents(room, all_agents=True)
        return await deliver_to_each(
            agents, lambda a: self._shutdown_one(room, a, reason, options, timeout, wait_for_exit, None)
        )

    async def _shutdown_one(
        self,
        room: str,
        agent: str,
        reason: str,
        options: ShutdownOptions,
        timeout: float,
        wait_for_exit: float | None,
        request_id: str | None,
    ) -> ShutdownResult:
        signed = make_payload(
            self._signing_key,
            room=room,
            agent=agent,
            reason=reason,
            issuer=self._issuer,
            options=options,
            lifetime_s=self._lifetime_s,
            request_id=request_id,
        )
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
