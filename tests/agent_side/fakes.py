"""A fake JobContext/Room: just what the agent side touches, recording every shutdown call."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, cast

from livekit import rtc
from livekit.agents import JobContext
from livekit.protocol import agent

from shutdown_rpc.protocol import HmacSha256Key, ShutdownOptions, build_request, sign_request
from shutdown_rpc.protocol.wire import METHOD_NAME, FixedClock

ROOM = "room-1"
AGENT = "agent-AJ_1"
JOB = "AJ_1"
NOW_MS = 1_700_000_000_000
KEY = HmacSha256Key("backend-1", b"k" * 32)
OTHER_KEY = HmacSha256Key("ops-1", b"o" * 32)


@dataclass
class FakeParticipant:
    identity: str
    kind: int = rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD
    attributes: dict[str, str] = field(default_factory=dict)


class FakeLocalParticipant:
    def __init__(self) -> None:
        self.identity = AGENT
        self.methods: dict[str, Any] = {}
        self.attributes: dict[str, str] = {}

    def register_rpc_method(self, name: str, handler: Any) -> Any:
        self.methods[name] = handler
        return handler

    async def set_attributes(self, attributes: dict[str, str]) -> None:
        self.attributes.update(attributes)


class FakeRoom:
    def __init__(self, connected: bool = True) -> None:
        self.name = ROOM
        self.local_participant = FakeLocalParticipant()
        self.remote_participants: dict[str, FakeParticipant] = {}
        self._connected = connected
        self._sid: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.listeners: dict[str, list[Any]] = {}
        self.disconnects = 0

    def on(self, event: str, callback: Any) -> Any:
        self.listeners.setdefault(event, []).append(callback)
        return callback

    def emit(self, event: str, *args: Any) -> None:
        for callback in self.listeners.get(event, []):
            callback(*args)

    async def disconnect(self) -> None:
        self.disconnects += 1

    def disconnect_from_server(self) -> None:
        """What rtc.Room does when the server drops the agent (DeleteRoom, RemoveParticipant...)."""
        self._connected = False
        self.emit("disconnected", rtc.DisconnectReason.ROOM_DELETED)

    def isconnected(self) -> bool:
        return self._connected

    @property
    async def sid(self) -> str:
        return await self._sid

    def connect(self) -> None:
        self._connected = True
        self._sid.set_result("RM_1")


@dataclass
class FakeJobRoom:
    name: str = ROOM


@dataclass
class FakeJob:
    id: str = JOB
    room: FakeJobRoom = field(default_factory=FakeJobRoom)
    dispatch_id: str = "AD_fake"
    type: int = agent.JobType.JT_ROOM


class FakeDispatchService:
    """Records delete_dispatch calls."""

    def __init__(self) -> None:
        self.deleted: list[tuple[str, str]] = []

        self.release = asyncio.Event()
        self.release.set()

    async def delete_dispatch(self, dispatch_id: str, room_name: str) -> None:
        await self.release.wait()
        self.deleted.append((dispatch_id, room_name))


class FakeRoomService:
    """Records remove_participant calls (room, identity)."""

    def __init__(self) -> None:
        self.removed: list[tuple[str, str]] = []

    async def remove_participant(self, who: Any) -> None:
        self.removed.append((who.room, who.identity))


@dataclass
class FakeApi:
    agent_dispatch: FakeDispatchService = field(default_factory=FakeDispatchService)
    room: FakeRoomService = field(default_factory=FakeRoomService)


class FakeCtx:
    """Records shutdown() calls (and whether a reply had been produced before each), and runs callbacks."""

    def __init__(self, connected: bool = True) -> None:
        self.room = FakeRoom(connected)
        self.job = FakeJob()
        self.api = FakeApi()
        self.shutdown_calls: list[str] = []
        self.replies_before_shutdown: list[int] = []
        self.replies = 0
        self.shutdown_called = asyncio.Event()
        self.callbacks: list[Any] = []
        self.deleted_rooms: list[str] = []

    @property
    def primary_session(self) -> Any:
        raise RuntimeError("No AgentSession was started for this job")

    def shutdown(self, reason: str = "user requested") -> None:
        self.shutdown_calls.append(reason)
        self.replies_before_shutdown.append(self.replies)
        self.shutdown_called.set()

    def add_shutdown_callback(self, cb: Any) -> None:
        self.callbacks.append(cb)

    def delete_room(self, room_name: str | None = None) -> asyncio.Future[None]:
        self.deleted_rooms.append(room_name or self.room.name)
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut

    async def run_shutdown_callbacks(self, reason: str) -> None:
        for cb in self.callbacks:
            if cb.__code__.co_argcount >= 1:
                await cb(reason)
            else:
                await cb()

    def as_job_context(self) -> JobContext:
        return cast(JobContext, self)


def request(**overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "room": ROOM,
        "target": AGENT,
        "reason": "maintenance window",
        "issuer": "backend",
        "clock": FixedClock(NOW_MS),
    }
    fields.update(overrides)
    return build_request(**fields)


def signed(key: HmacSha256Key = KEY, options: ShutdownOptions | None = None, **overrides: Any) -> str:
    return sign_request(request(options=options, **overrides), key)


def invocation(payload: str, caller: str = "backend-caller", rpc_id: str = "rpc-1") -> rtc.RpcInvocationData:
    return rtc.RpcInvocationData(rpc_id, caller, payload, 10.0, method=METHOD_NAME)


def opts(*, drain: bool = False, grace_ms: int = 0, delete_room: bool = False) -> ShutdownOptions:
    return ShutdownOptions(drain=drain, grace_ms=grace_ms, delete_room=delete_room)
