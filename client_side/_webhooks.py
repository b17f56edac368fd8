"""Seeing agents leave through LiveKit webhooks instead of polling every room.

livekit-server posts a signed JSON event to each URL of its ``webhook:`` config section (``urls``, signed with
``api_key``'s secret): ``participant_left`` (``participant_connection_aborted`` when the participant never
connected its media) when a participant leaves, ``room_finished`` when a room closes, on whichever node hosts
the room. :class:`WebhookListener` is a small aiohttp server in the caller's process that verifies each post
with livekit-api's ``WebhookReceiver`` (JWT signed with the API secret, carrying the body's SHA-256) and
remembers which participant (sid) left and which room (sid) finished, so :meth:`WebhookListener.wait_gone`
answers without an API call.

What the server does not guarantee: delivery. Its notifier queues 100 events per URL and drops the oldest
when full (the next event carries ``num_dropped``), and a receiver that was down misses events. So a wait
that ends without the event is not proof that the agent is still there; ``fleet.end_fleet`` checks such agents
once through the API (``_agent_sessions.PollingDepartures``).
"""

from __future__ import annotations

import asyncio
import socket
from collections import OrderedDict
from typing import Protocol, TypeVar

from aiohttp import web
from livekit import api

from ._agent_sessions import AgentSession
from ._refused_posts import RefusedPosts

DEFAULT_WEBHOOK_PATH = "/livekit/webhook"
MAX_BODY_BYTES = 256 * 1024  # a webhook event is a few KiB; bound the body before verifying or parsing it
MAX_REMEMBERED = 100_000  # departures kept for later waits (oldest forgotten first)
LEFT_EVENTS = frozenset({"participant_left", "participant_connection_aborted"})
ROOM_GONE_EVENTS = frozenset({"room_finished"})
_K = TypeVar("_K")
_V = TypeVar("_V")


class Departures(Protocol):
    """Something that can tell when the agent of a session has left (webhooks, or polling the server API)."""

    async def wait_gone(self, session: AgentSession, *, timeout: float) -> bool:
        """True once the session's participant has left (or its room finished), False if not seen within
        ``timeout``."""
        ...


class WebhookListener:
    """Receive LiveKit webhooks on ``host:port`` + ``path`` and answer :meth:`wait_gone` from them.

    A departure confirms a session only when it names the session's participant sid (``participant_left``) or
    room sid (``room_finished``) and was created no earlier than the request (``_agent_sessions``): an earlier
    agent or room of the same name, remembered or replayed, never confirms a new one. An event id seen before
    (a replay, or the server's retry of a post it thinks failed) is answered 200 and otherwise ignored.

    Use ``async with WebhookListener(key, secret, port=8765) as hooks: ...``; the server's config must list
    :attr:`url` (or the address a proxy forwards to it) under ``webhook.urls`` with the same API key.
    ``port=0`` picks a free port (read :attr:`port` after start).
    """

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = DEFAULT_WEBHOOK_PATH,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be within 0..65535 (0: any free port), not {port}")
        self._receiver = api.WebhookReceiver(api.TokenVerifier(api_key, api_secret))
        self.host = host
        self.port = port
        self.path = path
        self._left_names: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._rooms_gone_names: OrderedDict[str, None] = OrderedDict()
        self._left_sids: OrderedDict[str, int] = OrderedDict()  # participant sid -> the event's created_at
        self._finished_room_sids: OrderedDict[str, int] = OrderedDict()  # room sid -> the event's created_at
        self._event_ids: OrderedDict[str, None] = OrderedDict()
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._refused_posts = RefusedPosts()
        #: verified events received, posts refused (bad signature, body too large...), events the server dropped,
        #: verified posts of an event id already received (ignored)
        self.received = 0
        self.rejected = 0
        self.dropped = 0
        self.replayed = 0

    @property
    def url(self) -> str:
        """The URL to put under the server's ``webhook.urls`` (an IPv6 host in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.path}"

    async def start(self) -> None:
        """Start listening (binds now: a port that is taken raises OSError)."""
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post(self.path, self._handle)
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = int(sock.getsockname()[1])
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.SockSite(runner, sock).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner

    async def aclose(self) -> None:
        """Stop listening; idempotent."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            self._refused_posts.ended()

    async def __aenter__(self) -> WebhookListener:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            body = (await request.read()).decode("utf-8")
            token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            event = self._receiver.receive(body, token)
        except Exception as exc:  # any verification failure is one refusal, logged without data, in sum
            self.rejected += 1
            self._refused_posts.refused(type(exc).__name__)
            return web.Response(status=401)
        self._refused_posts.ended()
        if event.id:
            if event.id in self._event_ids:
                self.replayed += 1
                return web.Response(status=200)
            _remember(self._event_ids, event.id, None)
        self.received += 1
        self.dropped += event.num_dropped
        await self.record(
            event.event,
            event.room.name,
            event.participant.identity,
            participant_sid=event.participant.sid,
            room_sid=event.room.sid,
            created_at=event.created_at,
        )
        return web.Response(status=200)

    async def record(
        self,
        event: str,
        room: str,
        identity: str,
        *,
        participant_sid: str = "",
        room_sid: str = "",
        created_at: int = 0,
    ) -> None:
        """Take note of one (verified) event; what :meth:`_handle` does for each new event id."""
        if event in LEFT_EVENTS and identity:
            _remember(self._left_names, (room, identity), None)
            if participant_sid:
                _remember(self._left_sids, participant_sid, created_at)
        elif event in ROOM_GONE_EVENTS and room:
            _remember(self._rooms_gone_names, room, None)
            if room_sid:
                _remember(self._finished_room_sids, room_sid, created_at)
        else:
            return
        async with self._changed:
            self._changed.notify_all()

    def has_left(self, room: str, agent: str) -> bool:
        """Whether a webhook said that a participant named ``agent`` left ``room`` (or a room of that name
        finished), this one or an earlier one: a diagnostic. Confirmations use :meth:`has_gone`."""
        return (room, agent) in self._left_names or room in self._rooms_gone_names

    def has_gone(self, session: AgentSession) -> bool:
        """Whether a webhook said that the session's participant left, or that its room finished, since the
        request was made."""
        left = self._left_sids.get(session.participant_sid) if session.participant_sid else None
        finished = self._finished_room_sids.get(session.room_sid) if session.room_sid else None
        return session.counts(left) or session.counts(finished)

    async def wait_gone(self, session: AgentSession, *, timeout: float) -> bool:
        """True once :meth:`has_gone`; False after ``timeout``."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: self.has_gone(session)), timeout)
            except asyncio.TimeoutError:
                return False
        return True


def _remember(store: OrderedDict[_K, _V], key: _K, value: _V) -> None:
    store[key] = value
    store.move_to_end(key)
    while len(store) > MAX_REMEMBERED:
        store.popitem(last=False)
