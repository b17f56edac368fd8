"""The setups bench/bench_scale.py measures: one livekit-server or a Redis cluster, a light-agent worker registered with
node 0, a webhook listener that notes when each agent left, and jobs started in rooms placed on chosen nodes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livekit import api

from harness.agent_worker import AgentWorker
from harness.cluster import LiveKitCluster
from harness.livekit_server import LiveKitServer, free_port
from shutdown_rpc.client_side._webhooks import LEFT_EVENTS
from shutdown_rpc.client_side.fleet import WebhookListener
from shutdown_rpc.protocol import HmacSha256Key, dump_key_file

WAIT_S = 120.0
API_KEY = "benchkey"
REASON = "scale bench"


class TimedHooks(WebhookListener):
    """A webhook listener that also notes when each agent's ``participant_left`` arrived (wall clock)."""

    def __init__(self, api_key: str, api_secret: str, port: int) -> None:
        super().__init__(api_key, api_secret, port=port)
        self.left_at: dict[tuple[str, str], float] = {}

    async def record(self, event: str, room: str, identity: str, **sids_and_time: Any) -> None:
        if event in LEFT_EVENTS:
            self.left_at.setdefault((room, identity), time.time())
        await super().record(event, room, identity, **sids_and_time)


@dataclass(frozen=True)
class Job:
    room: str
    host: int
    agent: str


class Topology:
    """One setup under test: its nodes, a worker registered with node 0, the webhook listener, API clients."""

    def __init__(self, name: str, nodes: list[LiveKitServer], worker: AgentWorker, hooks: TimedHooks) -> None:
        self.name, self.nodes, self.worker, self.hooks = name, nodes, worker, hooks
        secret = nodes[0].api_secret
        self.apis = [api.LiveKitAPI(n.url, API_KEY, secret) for n in nodes]
        self.node_ids: list[str] = []
        self.redispatched = 0  # dispatches the server dropped under load (started again in a new room)

    async def start_jobs(self, n: int, *, host: int | None = None) -> list[Job]:
        """N jobs, rooms on node ``host`` or alternating between the nodes; returns once every agent is up."""
        tag = uuid.uuid4().hex[:8]
        jobs = [Job(f"scale-{tag}-{i}", i % len(self.nodes) if host is None else host, "") for i in range(n)]

        async def one(job: Job) -> Job:
            # On a loaded machine the server sometimes drops a dispatch ("failed to assign job to worker ...
            # context deadline exceeded", no retry): start that job again in a fresh room.
            for attempt in range(3):
                room = job.room if attempt == 0 else f"{job.room}-r{attempt}"
                create = api.CreateRoomRequest(name=room, empty_timeout=600, departure_timeout=600)
                if self.node_ids:
                    create.node_id = self.node_ids[job.host]
                await self.apis[job.host].room.create_room(create)
                await self.apis[job.host].agent_dispatch.create_dispatch(
                    api.CreateAgentDispatchRequest(agent_name=self.worker.agent_name, room=room)
                )
                try:
                    started = await self.worker.record.wait_for(room=room, event="entrypoint_started", timeout=45)
                except TimeoutError:
                    self.redispatched += 1
                    await self.apis[job.host].room.delete_room(api.DeleteRoomRequest(room=room))
                    continue
                return Job(room, job.host, started["identity"])
            raise TimeoutError(f"{self.name}: no job started in 3 rooms for {job.room}")

        return list(await asyncio.gather(*(one(j) for j in jobs)))

    async def wait_ended(self, jobs: list[Job], t0: float) -> tuple[float, float]:
        """(left, callbacks) in ms after ``t0``, once every agent's webhook and callback are in."""
        deadline = time.monotonic() + WAIT_S
        while True:
            left = [self.hooks.left_at.get((j.room, j.agent)) for j in jobs]
            callbacks = [self.worker.record.events(room=j.room, event="shutdown_callback") for j in jobs]
            if all(t is not None for t in left) and all(callbacks):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: jobs did not end within {WAIT_S}s")
            await asyncio.sleep(0.02)  # poll interval of the wait: arrival times are recorded, not polled
        left_ms = max(t for t in left if t is not None) * 1000 - t0 * 1000
        cb_ms = max(c[0]["wall_ms"] for c in callbacks) - t0 * 1000
        return left_ms, cb_ms

    async def aclose(self) -> None:
        for client in self.apis:
            await client.aclose()


async def with_topology(
    name: str,
    nodes: int,
    workdir: Path,
    key: HmacSha256Key,
    run: Callable[[Topology], Awaitable[dict[str, object]]],
    flush_env: dict[str, str],
) -> dict[str, object]:
    """Start the setup (one server, or a cluster), a worker on node 0 and the webhook listener; run; stop all."""
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    secret = uuid.uuid4().hex * 2
    port = free_port()
    hook_url = f"http://127.0.0.1:{port}/livekit/webhook"
    cluster: LiveKitCluster | None = None
    single: LiveKitServer | None = None
    if nodes > 1:
        cluster = LiveKitCluster(
            nodes=nodes, api_key=API_KEY, api_secret=secret, webhook_urls=[hook_url], log_dir=workdir, log_level="warn"
        )
        await asyncio.to_thread(cluster.start)
        servers = list(cluster.nodes)
    else:
        single = LiveKitServer(
            api_key=API_KEY,
            api_secret=secret,
            log_path=workdir / "single.log",
            log_level="warn",
            extra_config={"webhook": {"api_key": API_KEY, "urls": [hook_url]}},
        )
        await asyncio.to_thread(single.start)
        servers = [single]
    worker = AgentWorker(
        "harness.light_agent",
        server=servers[0],
        agent_name=f"scale-{name}",
        env={"SHUTDOWN_RPC_KEYS": dump_key_file(key), **flush_env},
        record_file=workdir / f"{name}-record.jsonl",
        log_path=workdir / f"{name}-worker.log",
    )
    try:
        await asyncio.to_thread(worker.start)
        hooks = TimedHooks(API_KEY, secret, port)
        await hooks.start()
        topo = Topology(name, servers, worker, hooks)
        if cluster is not None:
            topo.node_ids = [cluster.node_id(i) for i in range(nodes)]
        try:
            return await run(topo)
        finally:
            await topo.aclose()
            await hooks.aclose()
    finally:
        await asyncio.to_thread(worker.stop)
        if cluster is not None:
            await asyncio.to_thread(cluster.stop)
        if single is not None:
            await asyncio.to_thread(single.stop)
