"""Callers already in the room (a Python ``rtc.Room``): the same shutdown call over ``local_participant.perform_rpc``.

Retries, outcomes and discovery are those of the server-API path: both are a :class:`~.caller.ShutdownCaller`.
A hidden participant is refused up front (:class:`~shutdown_rpc.client_side.CallerHidden`): the server blanks a hidden
caller's identity, so the agent's reply could never come back and the call would only end in a timeout.
"""

from __future__ import annotations

import asyncio

from livekit import rtc

from shutdown_rpc.protocol import SigningKey
from shutdown_rpc.protocol.wire import METHOD_NAME, RECEIPT_METHOD_NAME, Ending, parse_ending

from ._agent_discovery import Candidate, pick_all_agents, pick_one_agent
from ._caller import ShutdownCaller
from ._command import ShutdownCommand
from ._delivery import DEFAULT_TIMEOUT_S, Channel, Presence, RetryPolicy, RpcFailure
from ._outcomes import CallerHidden, ShutdownFailed, ShutdownResult, TransportError
from ._receipts import RECEIPT_TIMEOUT_S, flush_receipts


class RoomChannel:
    """A :class:`~.delivery.Channel` to one agent over ``perform_rpc`` from a connected room (a relay)."""

    def __init__(self, room: rtc.Room, agent: str) -> None:
        self._room = room
        self._agent = agent
        # Held from now on: the room forgets a participant that left, the object keeps its last attributes.
        self._participant = room.remote_participants.get(agent)

    async def call(self, payload: str, *, response_timeout_s: float, timeout_s: float) -> str:
        try:
            return await self._room.local_participant.perform_rpc(
                destination_identity=self._agent,
                method=METHOD_NAME,
                payload=payload,
                response_timeout=response_timeout_s,
            )
        except rtc.RpcError as error:
            raise RpcFailure(error.message, rpc_code=int(error.code), data=error.data) from None

    async def receipt(self, receipt_token: str, *, timeout_s: float) -> None:
        try:
            await self._room.local_participant.perform_rpc(
                destination_identity=self._agent,
                method=RECEIPT_METHOD_NAME,
                payload=receipt_token,
                response_timeout=timeout_s,
            )
        except rtc.RpcError as error:
            raise RpcFailure(error.message, rpc_code=int(error.code), data=error.data) from None

    async def presence(self, *, timeout_s: float) -> Presence:
        if not self._room.isconnected():
            return Presence.UNKNOWN
        return Presence.PRESENT if self._agent in self._room.remote_participants else Presence.AGENT_GONE

    def announced_ending(self) -> Ending | None:
        """The agent's ending attributes as this room last saw them (spec §10): they come over the signalling
        connection, so they usually arrive when the reply was lost. Parsed, never trusted beyond what they are:
        what the agent published about itself."""
        return None if self._participant is None else parse_ending(self._participant.attributes)


class RoomShutdownCaller(ShutdownCaller):
    """Ask agents of the room ``room`` (already connected, not hidden) to end their jobs."""

    def __init__(
        self,
        room: rtc.Room,
        signing_key: SigningKey | None,
        *,
        issuer: str,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(signing_key, issuer=issuer, retry=retry)
        self._room = room

    def _check_caller(self) -> str:
        if not self._room.isconnected():
            raise TransportError("the room is not connected", room=self._room.name)
        if self._room.local_participant.permissions.hidden:
            raise CallerHidden(
                f"{self._room.local_participant.identity!r} is a hidden participant: the server blanks its identity,"
                " so no RPC reply can reach it; send the request through the server API instead",
                room=self._room.name,
            )
        return self._room.name

    def _candidates(self) -> list[Candidate]:
        return [Candidate(p.identity, int(p.kind), dict(p.attributes)) for p in self._room.remote_participants.values()]

    def list_agents(self) -> tuple[str, ...]:
        """Identities of the room's agents (AgentNotFound if none)."""
        return pick_all_agents(self._candidates(), self._room.name)

    async def wait_for_exit(self, agent: str, *, timeout: float) -> bool:
        """True once ``agent`` has left (or this room disconnected), False if still there after ``timeout``."""
        gone = asyncio.Event()

        def on_left(participant: rtc.RemoteParticipant) -> None:
            if participant.identity == agent:
                gone.set()

        def on_disconnected(*_: object) -> None:
            gone.set()

        self._room.on("participant_disconnected", on_left)
        self._room.on("disconnected", on_disconnected)
        try:
            if agent not in self._room.remote_participants or not self._room.isconnected():
                return True
            try:
                await asyncio.wait_for(gone.wait(), timeout)
            except asyncio.TimeoutError:
                return False
            return True
        finally:
            self._room.off("participant_disconnected", on_left)
            self._room.off("disconnected", on_disconnected)

    async def flush_receipts(self, timeout: float = RECEIPT_TIMEOUT_S) -> None:
        """Wait (at most ``timeout``) until the receipts still being sent have settled (spec §2).

        Call it before disconnecting the room right after a shutdown (a one-shot script): a disconnect can drop
        a receipt still on its way, and the agent then waits out its whole reply-flush bound.
        """
        await flush_receipts(timeout)

    async def shutdown(
        self,
        command: ShutdownCommand | None = None,
        *,
        agent: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        wait_for_exit: float | None = None,
    ) -> ShutdownResult:
        """Ask one agent (default: the room's only agent) to end its job. Same outcomes as ShutdownClient."""
        room = self._check_caller()
        return await self._shutdown(room, agent, command or ShutdownCommand(), timeout, wait_for_exit)

    async def shutdown_all(
        self,
        command: ShutdownCommand | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        wait_for_exit: float | None = None,
    ) -> dict[str, ShutdownResult | ShutdownFailed]:
        """Ask every agent of the room, one request each; outcome per identity."""
        room = self._check_caller()
        return await self._shutdown_all(room, command or ShutdownCommand(), timeout, wait_for_exit)

    # -- what ShutdownCaller needs ------------------------------------------------------------------------------

    def _channel(self, room: str, agent: str) -> Channel:
        return RoomChannel(self._room, agent)

    async def _all_agents(self, room: str) -> tuple[str, ...]:
        return self.list_agents()

    async def _only_agent(self, room: str) -> str:
        return pick_one_agent(self._candidates(), room)

    async def _agent_left(self, room: str, agent: str, *, timeout: float) -> bool:
        return await self.wait_for_exit(agent, timeout=timeout)
