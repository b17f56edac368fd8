"""Scale benchmark: ending N agent jobs at once (fleet) against DeleteRoom of the same N rooms, on one node and
on a 2-node Redis cluster; and PerformRpc request -> ack when the API node hosts the room vs when it does not.

    .venv/bin/python -m bench.bench_scale [--sizes 1,5,20] [--reps 3] [--concurrency 8] [--ack-rounds 10]
    .venv/bin/python -m bench.bench_scale --quick      # CI smoke run: figures only, never a verdict

Measured, never asserted. Per topology (``single``: one livekit-server; ``cluster``: two nodes sharing a real
redis-server, rooms alternating between the nodes, every API call sent to node 0) and per N, each rep starts N
light-agent jobs (harness/light_agent.py, untimed), then times one of two ways to end them, alternating which
goes first from rep to rep:

* ``fleet``: ``end_fleet`` (list the room's agents, one signed request each, bounded concurrency): the caller's
  reason reaches every job and the rooms stay;
* ``delete``: RoomService.DeleteRoom of the same N rooms with the same concurrency: jobs end with
  "room disconnected", rooms gone, reason lost.

Times from the first call: ``api`` (every call returned: acks, or DeleteRoom answers), ``left`` (the node's
``participant_left`` webhook for every agent has arrived), ``callbacks`` (every job's shutdown callback ran, from
the agents' own wall-clock records). The ``ack`` phase dispatches one job at a time into a room on node 1 and
sends one request to node 1 (same node) or node 0 (cross node), alternating.

The machine is shared (2 cores, several developers' test runs): absolute figures are noisy; compare the ratios,
which come from the same run, interleaved.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from livekit import api

from harness import netns
from harness.scale_bed import REASON, Job, Topology, with_topology
from shutdown_rpc.client_side import AgentLeftBeforeReply, RetryPolicy, ShutdownClient, ShutdownCommand, ShutdownFailed
from shutdown_rpc.client_side._delivery import deliver
from shutdown_rpc.client_side._minting import make_payload
from shutdown_rpc.client_side._server_api import ServerChannel
from shutdown_rpc.client_side.fleet import RoomStatus, end_fleet
from shutdown_rpc.protocol import HmacSha256Key


async def end_by_fleet(topo: Topology, client: ShutdownClient, jobs: list[Job], concurrency: int) -> dict[str, float]:
    t0 = time.time()
    outcomes = [
        o async for o in end_fleet(client, [j.room for j in jobs], ShutdownCommand(REASON), concurrency=concurrency)
    ]
    api_ms = (time.time() - t0) * 1000
    # with no reply-flush delay an ack can be lost as the agent leaves: reported as AgentLeftBeforeReply
    lost = sum(isinstance(r, AgentLeftBeforeReply) for o in outcomes for r in o.results.values())
    bad = [o for o in outcomes if o.status is not RoomStatus.ACKNOWLEDGED and not o.results]
    bad += [o for o in outcomes for r in o.results.values() if isinstance(r, ShutdownFailed)
            and not isinstance(r, AgentLeftBeforeReply)]  # fmt: skip
    if bad:
        raise RuntimeError(f"fleet: not acknowledged: {bad[:3]}")
    left_ms, cb_ms = await topo.wait_ended(jobs, t0)
    for job in jobs:
        callback = topo.worker.record.events(room=job.room, event="shutdown_callback")[0]
        if callback["caller_reason"] != REASON:
            raise RuntimeError(f"fleet: reason not delivered to {job.room}: {callback['reason']!r}")
    return {"api": api_ms, "left": left_ms, "callbacks": cb_ms, "acks_lost": lost, **ending_steps(topo, jobs)}


# An agent's ending, as the light agent records it (wall clock), then its participant_left webhook.
STEPS = ("remote_shutdown_accepted", "receipt_received", "shutdown_called", "shutdown_callback", "left")


def ending_steps(topo: Topology, jobs: list[Job]) -> dict[str, float]:
    """Per step of the agents' endings (accepted -> receipt -> ctx.shutdown -> shutdown callback -> left), the
    median over the agents in ms, keyed ``step:<from>-><to>``; a step an agent skipped (no receipt within its
    bound) is counted from the milestone before it."""
    gaps: dict[str, list[float]] = {}
    for job in jobs:
        at: dict[str, float] = {}
        for step in STEPS[:-1]:
            events = topo.worker.record.events(room=job.room, event=step)
            if events:
                at[step] = float(events[0]["wall_ms"])
        left = topo.hooks.left_at.get((job.room, job.agent))
        if left is not None:
            at["left"] = left * 1000
        seen = [step for step in STEPS if step in at]
        for a, b in itertools.pairwise(seen):
            gaps.setdefault(f"step:{a}->{b}", []).append(at[b] - at[a])
    return {key: median(values) for key, values in gaps.items()}


async def end_by_delete(topo: Topology, jobs: list[Job], concurrency: int) -> dict[str, float]:
    gate = asyncio.Semaphore(concurrency)

    async def delete(job: Job) -> None:
        async with gate:
            await topo.apis[0].room.delete_room(api.DeleteRoomRequest(room=job.room))

    t0 = time.time()
    await asyncio.gather(*(delete(j) for j in jobs))
    api_ms = (time.time() - t0) * 1000
    left_ms, cb_ms = await topo.wait_ended(jobs, t0)
    return {"api": api_ms, "left": left_ms, "callbacks": cb_ms}


async def ack_latency(topo: Topology, key: HmacSha256Key, rounds: int) -> dict[str, list[float]]:
    """Request -> ack (ms) with the API call on the hosting node vs the other node, one job at a time."""
    samples: dict[str, list[float]] = {"same_node": [], "cross_node": [], "lost": []}
    host = len(topo.nodes) - 1
    for i in range(2 * rounds):
        kind = "same_node" if i % 2 == 0 else "cross_node"
        api_node = host if kind == "same_node" else 0
        (job,) = await topo.start_jobs(1, host=host)
        signed = make_payload(key, ShutdownCommand(REASON), room=job.room, agent=job.agent, issuer="bench")
        t0 = time.perf_counter()
        try:
            await deliver(
                ServerChannel(topo.apis[api_node], job.room, job.agent),
                signed.payload,
                room=job.room,
                agent=job.agent,
                request_id=signed.request_id,
                timeout_s=30,
                policy=RetryPolicy(max_attempts=1, attempt_timeout_s=10),
            )
        except AgentLeftBeforeReply:
            samples["lost"].append(0.0)  # no flush delay: the ack was lost as the agent left
            await topo.wait_ended([job], time.time())
            continue
        samples[kind].append((time.perf_counter() - t0) * 1000)
        await topo.wait_ended([job], time.time())
    return samples


def _step_order(key: str) -> int:
    return STEPS.index(key.removeprefix("step:").split("->")[0])


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


async def run_topology(
    topo: Topology, key: HmacSha256Key, sizes: list[int], reps: int, concurrency: int, ack_rounds: int
) -> dict[str, object]:
    client = ShutdownClient(key, issuer="bench", lkapi=topo.apis[0])
    rows: dict[str, object] = {}
    for n in sizes:
        runs: dict[str, list[dict[str, float]]] = {"fleet": [], "delete": []}
        for rep in range(reps):
            order = ("fleet", "delete") if rep % 2 == 0 else ("delete", "fleet")
            for way in order:
                jobs = await topo.start_jobs(n)
                if way == "fleet":
                    runs[way].append(await end_by_fleet(topo, client, jobs, concurrency))
                    for job in jobs:  # cleanup, untimed: the fleet kept the rooms
                        await topo.apis[0].room.delete_room(api.DeleteRoomRequest(room=job.room))
                else:
                    runs[way].append(await end_by_delete(topo, jobs, concurrency))
            print(f"  {topo.name} N={n} rep {rep + 1}/{reps} done", file=sys.stderr, flush=True)
        row: dict[str, object] = {}
        for metric in ("api", "left", "callbacks"):
            fleet = median([r[metric] for r in runs["fleet"]])
            delete = median([r[metric] for r in runs["delete"]])
            row[metric] = {
                "fleet_ms": round(fleet, 1),
                "delete_ms": round(delete, 1),
                "ratio": round(fleet / delete, 2),
            }
        row["acks_lost"] = sum(int(r["acks_lost"]) for r in runs["fleet"])
        steps = sorted({k for r in runs["fleet"] for k in r if k.startswith("step:")}, key=_step_order)
        row["fleet_ending_steps_median_ms"] = {
            k.removeprefix("step:"): round(median([r[k] for r in runs["fleet"] if k in r]), 1) for k in steps
        }
        row["jobs_per_way"] = n * reps
        rows[str(n)] = row
    result: dict[str, object] = {"sizes": rows}
    if ack_rounds and len(topo.nodes) > 1:
        samples = await ack_latency(topo, key, ack_rounds)
        same, cross = median(samples["same_node"]), median(samples["cross_node"])
        result["ack_ms_p50"] = {
            "same_node": round(same, 1),
            "cross_node": round(cross, 1),
            "cross_over_same": round(cross / same, 2),
            "n": len(samples["same_node"]),
            "acks_lost": len(samples["lost"]),
        }
    result["dispatches_dropped_and_redone"] = topo.redispatched
    return result


def table(report: dict[str, dict[str, object]]) -> str:
    lines = [
        f"{'setup':<8} {'N':>3}  {'metric':<10} {'fleet ms':>9} {'delete ms':>10} {'fleet/delete':>13}",
    ]
    for name, result in report.items():
        sizes = result["sizes"]
        assert isinstance(sizes, dict)
        for n, row in sizes.items():
            for metric, cell in row.items():
                if not isinstance(cell, dict) or "fleet_ms" not in cell:
                    continue
                lines.append(
                    f"{name:<8} {n:>3}  {metric:<10} {cell['fleet_ms']:>9.1f} {cell['delete_ms']:>10.1f}"
                    f" {cell['ratio']:>13.2f}"
                )
            ending = row.get("fleet_ending_steps_median_ms")
            if isinstance(ending, dict) and ending:
                steps = ", ".join(f"{k.replace('remote_shutdown_', '')} {v:.0f}" for k, v in ending.items())
                lines.append(f"{name:<8} {n:>3}  per agent (median ms): {steps}")
            if row.get("acks_lost"):
                lines.append(f"{name:<8} {n:>3}  acks lost (AgentLeftBeforeReply): {row['acks_lost']}")
        ack = result.get("ack_ms_p50")
        if isinstance(ack, dict):
            lines.append(
                f"{name:<8} ack p50: same node {ack['same_node']:.1f} ms, cross node {ack['cross_node']:.1f} ms,"
                f" cross/same {ack['cross_over_same']:.2f} (n={ack['n']} each)"
            )
    return "\n".join(lines)


async def amain(args: argparse.Namespace) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    key = HmacSha256Key("bench-scale", os.urandom(32))
    sizes = [int(x) for x in args.sizes.split(",")]
    report: dict[str, dict[str, object]] = {}
    for name, nodes in (("single", 1), ("cluster", 2)):
        if name not in args.setups.split(","):
            continue

        async def run(topo: Topology) -> dict[str, object]:
            return await run_topology(topo, key, sizes, args.reps, args.concurrency, args.ack_rounds)

        flush_env = {} if args.flush_delay is None else {"SHUTDOWN_RPC_REPLY_FLUSH_DELAY_S": str(args.flush_delay)}
        report[name] = await with_topology(name, nodes, workdir / name, key, run, flush_env)
    print(table(report))
    return {
        "sizes": sizes,
        "reps": args.reps,
        "concurrency": args.concurrency,
        "agent_reply_flush_delay_s": "default" if args.flush_delay is None else args.flush_delay,
        "note": "shared 2-core machine: absolute times are noisy, ratios come from the same interleaved run",
        "results": report,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_scale", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1,5,20", help="comma-separated N (jobs ended at once)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per N and way (alternating order)")
    parser.add_argument("--concurrency", type=int, default=8, help="rooms in progress at once (both ways)")
    parser.add_argument("--ack-rounds", type=int, default=10, help="same-node and cross-node acks each")
    parser.add_argument("--setups", default="single,cluster", help="which setups: single,cluster")
    parser.add_argument("--flush-delay", type=float, help="agents' reply-flush delay, s (default: theirs, 0.5)")
    parser.add_argument("--quick", action="store_true", help="CI smoke run: N=1,2, one rep, cluster only, 2 acks")
    parser.add_argument("--json", action="store_true", help="also print the whole report as JSON (after the table)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.reps, args.ack_rounds, args.setups = "1,2", 1, 2, "cluster"
    if not netns.isolate_command_line_tool():  # before the rtc SDK starts its threads
        return 1
    report = asyncio.run(amain(args))
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
