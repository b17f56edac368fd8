"""A real Python ``livekit.rtc.Room`` participant for tests: token minting, connect, event waits, disconnect."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from types import TracebackType
from typing import Any

from livekit import api, rtc


def mint_token(
    api_key: str,
    api_secret: str,
    *,
    room: str,
    identity: str,
    name: str = "",
    attributes: Mapping[str, str] | None = None,
    metadata: str = "",
    hidden: bool = False,
    can_publish: bool = True,
    room_config: api.RoomConfiguration | None = None,
    ttl: timedelta = timedelta(hours=1),
) -> str:
    """A join token for ``room`` as ``identity`` (``room_config`` can carry agent dispatches)."""
    token = (
        api.AccessToken(api_key, api_secret)
        .with_identity(identity)
        .with_name(name or identity)
        .with_metadata(metadata)
        .with_ttl(ttl)
        .with_grants(
            api.VideoGrants(room_join=True, room=room, hidden=hidden, can_publish=can_publish, can_publish_data=True)
        )
    )
    if attributes:
        token = token.with_attributes(dict(attributes))
    if room_config is not None:
        token = token.with_room_config(room_config)
    return token.to_jwt()


class RoomParticipant:
    """One connected participant; an async context manager (connects on enter, disconnects on exit)."""

    def __init__(self, url: str, token: str, *, identity: str, room_name: str) -> None:
        self.url = url
        self.token = token
        self.identity = identity
        self.room_name = room_name
        self.room = rtc.Room()
        self.disconnect_reason: Any = None
        self._changed = asyncio.Event()
        self._disconnected = asyncio.Event()
        self.room.on("participant_connected", self._on_event)
        self.room.on("participant_disconnected", self._on_event)
        self.room.on("participant_attributes_changed", self._on_event)
        self.room.on("connection_state_changed", self._on_event)
        self.room.on("disconnected", self._on_event)
        self.room.on("disconnected", self._on_disconnected)

    def _on_event(self, *_: Any) -> None:
        self._changed.set()

    def _on_disconnected(self, reason: Any = None) -> None:
        self.disconnect_reason = reason
        self._disconnected.set()

    @property
    def local(self) -> rtc.LocalParticipant:
        return self.room.local_participant

    async def connect(self, timeout: float = 20.0) -> None:
        await asyncio.wait_for(self.room.connect(self.url, self.token), timeout)

    async def disconnect(self) -> None:
        """Leave the room (no-op when already disconnected)."""
        if self.room.isconnected():
            await self.room.disconnect()

    async def wait_until(self, condition: Callable[[], bool], *, timeout: float = 30.0, what: str = "") -> None:
        """Wait for ``condition()`` to hold, re-checking on every room event; raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.identity}: timed out after {timeout}s waiting for {what or condition}")
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                # re-check at least every 0.5 s as a safety net for state changed without an event
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))

    def agents(self) -> list[rtc.RemoteParticipant]:
        """Remote participants of kind AGENT currently in the room."""
        return [
            p for p in self.room.remote_participants.values() if p.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT
        ]

    async def wait_for_agent(self, *, agent_name: str | None = None, timeout: float = 30.0) -> rtc.RemoteParticipant:
        """The first agent participant (optionally with attribute ``lk.agent.name == agent_name``)."""

        def find() -> rtc.RemoteParticipant | None:
            for p in self.agents():
                if agent_name is None or p.attributes.get("lk.agent.name") == agent_name:
                    return p
            return None

        await self.wait_until(lambda: find() is not None, timeout=timeout, what=f"agent {agent_name or ''}")
        found = find()
        assert found is not None
        return found

    async def wait_for_participant(self, identity: str, *, timeout: float = 30.0) -> rtc.RemoteParticipant:
        await self.wait_until(
            lambda: identity in self.room.remote_participants, timeout=timeout, what=f"{identity} to join"
        )
        return self.room.remote_participants[identity]

    async def wait_participant_left(self, identity: str, *, timeout: float = 30.0) -> None:
        await self.wait_until(
            lambda: identity not in self.room.remote_participants, timeout=timeout, what=f"{identity} to leave"
        )

    async def wait_disconnected(self, *, timeout: float = 30.0) -> Any:
        """Wait for this participant's own ``disconnected`` event; returns its reason."""
        await asyncio.wait_for(self._disconnected.wait(), timeout)
        return self.disconnect_reason

    async def __aenter__(self) -> RoomParticipant:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.disconnect()


async def connect_participant(
    url: str,
    api_key: str,
    api_secret: str,
    *,
    room: str,
    identity: str,
    timeout: float = 20.0,
    **token_options: Any,
) -> RoomParticipant:
    """Mint a token and connect; the caller disconnects (or use :class:`RoomParticipant` as a context)."""
    token = mint_token(api_key, api_secret, room=room, identity=identity, **token_options)
    participant = RoomParticipant(url, token, identity=identity, room_name=room)
    await participant.connect(timeout)
    return participant
