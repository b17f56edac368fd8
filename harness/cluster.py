"""A real multi-node LiveKit cluster on loopback: one ``redis-server`` and N livekit-server nodes sharing it.

Each node is a :class:`~harness.livekit_server.LiveKitServer` (same binary, same keys) with its own ports and
node id, plus the ``redis:`` section (and optionally ``webhook:``) of the config. livekit-server keeps the
cluster's state in Redis: the hash ``nodes`` (node id -> node) and ``room_node_map`` (room -> id of the node
that hosts it, pkg/routing/redisrouter.go in v1.13.5); API calls and signalling that land on another node are
forwarded over the internal bus (psrpc on Redis).

Usage::

    with LiveKitCluster(nodes=2) as cluster:
        host = cluster.node_hosting("room-1")   # after the room exists
        other = cluster.other_node(host)
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from livekit import api

from harness.lifecycle import StartStop
from harness.livekit_server import DEFAULT_API_KEY, DEFAULT_API_SECRET, LiveKitServer, ServerStartError
from harness.redis_server import RedisServer, RedisStartError

ROOM_NODE_KEY = "room_node_map"
NODES_KEY = "nodes"


class ClusterStartError(RuntimeError):
    """Redis or a node did not come up (the message says which, with its log tail)."""


class LiveKitCluster(StartStop):
    """``nodes`` livekit-server nodes sharing one redis-server; started together, stopped together.

    ``webhook_urls``: every node posts its webhooks (signed with ``api_key``) to these URLs.
    """

    def __init__(
        self,
        *,
        nodes: int = 2,
        api_key: str = DEFAULT_API_KEY,
        api_secret: str = DEFAULT_API_SECRET,
        webhook_urls: Sequence[str] = (),
        log_dir: Path | None = None,
        log_level: str = "info",
    ) -> None:
        if nodes < 1:
            raise ValueError("a cluster needs at least one node")
        self.api_key = api_key
        self.api_secret = api_secret
        self.webhook_urls = tuple(webhook_urls)
        self._count = nodes
        self._log_dir = log_dir or Path(tempfile.mkdtemp(prefix="livekit-cluster-"))
        self._log_dir.mkdir(parents=True, exist_ok=True)
        self._log_level = log_level
        self.redis = RedisServer()
        self.nodes: list[LiveKitServer] = []
        self._node_ids: list[str] = []

    def _node_config(self) -> dict[str, object]:
        extra: dict[str, object] = {"redis": {"address": self.redis.address}}
        if self.webhook_urls:
            extra["webhook"] = {"api_key": self.api_key, "urls": list(self.webhook_urls)}
        return extra

    def start(self) -> None:
        """Start Redis, then each node (each waits until its API answers); on any failure stop everything."""
        try:
            self.redis.start()
        except RedisStartError as exc:
            raise ClusterStartError(str(exc)) from None
        try:
            for index in range(self._count):
                node = LiveKitServer(
                    api_key=self.api_key,
                    api_secret=self.api_secret,
                    log_path=self._log_dir / f"node{index}.log",
                    log_level=self._log_level,
                    extra_config=self._node_config(),
                )
                self.nodes.append(node)
                self._node_ids.append(self._start_and_identify(node))
        except ServerStartError as exc:
            self.stop()
            raise ClusterStartError(f"node {len(self.nodes) - 1}: {exc}") from None
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every node, then Redis; idempotent."""
        for node in reversed(self.nodes):
            node.stop()
        self.nodes.clear()
        self._node_ids.clear()
        self.redis.stop()

    def restart_node(self, index: int) -> LiveKitServer:
        """Start node ``index`` again after :meth:`stop_node` (new ports, new node id)."""
        node = self.nodes[index]
        self._node_ids[index] = self._start_and_identify(node)
        return node

    def _start_and_identify(self, node: LiveKitServer) -> str:
        """Start ``node`` and return its node id: the one id that appeared in Redis's ``nodes`` hash meanwhile."""
        before = set(self.registered_node_ids())
        node.start()
        deadline = time.monotonic() + 10.0
        while True:
            new = set(self.registered_node_ids()) - before
            if len(new) == 1:
                return new.pop()
            if time.monotonic() > deadline:
                raise ServerStartError(f"node did not register exactly one id in Redis (new ids: {sorted(new)})")
            time.sleep(0.05)  # polling interval of a readiness probe

    def stop_node(self, index: int, *, graceful: bool = True) -> None:
        """Stop one node; the others and Redis keep running.

        ``graceful``: SIGTERM (livekit-server drains: it keeps serving its rooms while participants remain),
        SIGKILL after 10 s; else SIGKILL at once (a crash).
        """
        node = self.nodes[index]
        if not graceful and node.is_running():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(node.pid, signal.SIGKILL)
        node.stop()

    def node_id(self, index: int) -> str:
        """The livekit node id (``ND_...``) of node ``index`` (since its last start)."""
        return self._node_ids[index]

    def registered_node_ids(self) -> list[str]:
        """Node ids currently registered in Redis."""
        keys = self.redis.command("HKEYS", NODES_KEY)
        return sorted(str(k) for k in keys) if isinstance(keys, list) else []

    def node_hosting(self, room: str) -> int | None:
        """Index of the node that hosts ``room`` (Redis ``room_node_map``), None when no node does."""
        node_id = self.redis.command("HGET", ROOM_NODE_KEY, room)
        for index in range(len(self.nodes)):
            if self.nodes[index].is_running() and self.node_id(index) == node_id:
                return index
        return None

    def other_node(self, index: int) -> int:
        """The next node after ``index`` (wrapping): one that is not ``index``."""
        if len(self.nodes) < 2:
            raise RuntimeError("a single-node cluster has no other node")
        return (index + 1) % len(self.nodes)

    def api_for(self, index: int) -> api.LiveKitAPI:
        """A LiveKitAPI talking to node ``index`` (caller closes it)."""
        node = self.nodes[index]
        return api.LiveKitAPI(node.url, self.api_key, self.api_secret)

    async def create_room_on(self, lkapi: api.LiveKitAPI, room: str, index: int, **options: object) -> api.Room:
        """CreateRoom pinned to node ``index`` (CreateRoomRequest.node_id); ``lkapi`` may talk to any node."""
        request = api.CreateRoomRequest(name=room, node_id=self.node_id(index), **options)  # type: ignore[arg-type]
        return await lkapi.room.create_room(request)
