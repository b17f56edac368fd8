"""Seeing agents leave through LiveKit webhooks instead of polling every room.

livekit-server posts a signed JSON event to each URL of its ``webhook:`` config section (``urls``, signed with
``api_key``'s secret): ``participant_left`` (``participant_connection_aborted`` when the participant never
connected its media) when a participant leaves, ``room_finished`` when a room closes, on whichever node hosts
the room. :class:`WebhookListener` is a small aiohttp server in the caller's process that verifies each post
with livekit-api's ``WebhookReceiver`` (JWT signed with the API secret, carrying the body's SHA-256) and
remembers who left which room, so :meth:`WebhookListener.wait_left` answers without an API call.

What the server does not guarantee: delivery. Its notifier queues 100 events per URL and drops the oldest
when full (the next event carries ``num_dropped``), and a receiver that was down misses events. So a wait
that ends without the event is not proof that the agent is still there; ``fleet.end_fleet`` checks such agents
once through the API (``PollingDepartures``, in the fleet module).
"""

from __future__ import annotations

import asyncio
import socket
from collections import OrderedDict
from typing import Protocol, TypeVar

from aiohttp import web
from livekit import api

from ._refused_posts import RefusedPosts

DEFAULT_WEBHOOK_PATH = "/livekit/webhook"
MAX_BODY_BYTES = 256 * 1024  # a webhook event is a few KiB; bound the body before verifying or parsing it
MAX_REMEMBERED = 100_000  # departures kept for later waits (oldest forgotten first)
LEFT_EVENTS = frozenset({"participant_left", "participant_connection_aborted"})
ROOM_GONE_EVENTS = frozenset({"room_finished"})
_K = TypeVar("_K")


class Departures(Protocol):
    """Something that can tell when an agent has left its room (webhooks, or polling the server API)."""

    async def wait_left(self, room: str, agent: str, *, timeout: float) -> bool:
        """True once ``agent`` has left ``room`` (or the room is gone), False if not seen within ``timeout``."""
        ...


class WebhookListener:
    """Receive LiveKit webhooks on ``host:port`` + ``path`` and answer :meth:`wait_left` from them.

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
        self._left: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._rooms_gone: OrderedDict[str, None] = OrderedDict()
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._refused_posts = RefusedPosts()
        #: verified events received, posts refused (bad signature, body too large...), events the server dropped
        self.received = 0
        self.rejected = 0
        self.dropped = 0

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
        self.received += 1
        self.dropped += event.num_dropped
        await self.record(event.event, event.room.name, event.participant.identity)
        return web.Response(status=200)

    async def record(self, event: str, room: str, identity: str) -> None:
        """Take note of one (verified) event; what :meth:`_handle` does for each post."""
        if event in LEFT_EVENTS and identity:
            _remember(self._left, (room, identity))
        elif event in ROOM_GONE_EVENTS and room:
            _remember(self._rooms_gone, room)
        else:
            return
        async with self._changed:
            self._changed.notify_all()

    def has_left(self, room: str, agent: str) -> bool:
        """Whether a webhook said ``agent`` left ``room`` (or ``room`` finished)."""
        return (room, agent) in self._left or room in self._rooms_gone

    async def wait_left(self, room: str, agent: str, *, timeout: float) -> bool:
        """True once a webhook says ``agent`` left ``room`` (or the room finished); False after ``timeout``."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: self.has_left(room, agent)), timeout)
            except asyncio.TimeoutError:
                return False
        return True


def _remember(store: OrderedDict[_K, None], key: _K) -> None:
    store[key] = None
    store.move_to_end(key)
    while len(store) > MAX_REMEMBERED:
        store.popitem(last=False)
