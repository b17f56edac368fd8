"""Where an RPC's milliseconds go, echo against shutdown request (bench_e2e ``--timing``).

The bench records when it sent each call and when the answer was in its hands; the agent (harness/link_agent.py,
``$SHUTDOWN_RPC_BENCH_TIMING``) records when its handler chain was entered, when it returned and when the reply was
handed to the native layer. Both read ``time.perf_counter`` (CLOCK_MONOTONIC, one clock for every process of the
machine), so the legs add up: in (caller -> server -> agent's handler), handler, handoff (chain returned -> native
layer), out (native layer -> agent link -> server -> caller).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.e2e_report import pct

LEGS = ("in", "handler", "handoff", "out")


@dataclass
class CallerTimes:
    """The bench's side: per (room, method), the calls in the order they were sent."""

    calls: dict[tuple[str, str], list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, room: str, method: str, sent: float, answered: float) -> None:
        self.calls[(room, method)].append((sent, answered))


def breakdown(caller: CallerTimes, agent_file: Path) -> dict[str, dict[str, Any]]:
    """Per method, the p50 and p99 of each leg in ms, over the calls both sides recorded."""
    handled: dict[tuple[str, str], list[dict[str, float]]] = defaultdict(list)
    if agent_file.exists():
        for line in agent_file.read_text().splitlines():
            rec = json.loads(line)
            handled[(rec["room"], rec["method"])].append(rec)
    legs: dict[str, dict[str, list[float]]] = defaultdict(lambda: {leg: [] for leg in LEGS})
    for key, sent in caller.calls.items():
        # a discarded warm-up echo that failed has no answer on the bench's side: match only equal counts
        if len(sent) != len(handled[key]):
            continue
        for (t0, t1), rec in zip(sent, handled[key], strict=True):
            ms = legs[key[1]]
            ms["in"].append((rec["entered"] - t0) * 1000)
            ms["handler"].append((rec["returned"] - rec["entered"]) * 1000)
            ms["handoff"].append((rec["handed"] - rec["returned"]) * 1000)
            ms["out"].append((t1 - rec["handed"]) * 1000)
    return {
        method: {"n": len(ms["in"]), **{leg: [round(pct(v, 0.5), 2), round(pct(v, 0.99), 2)] for leg, v in ms.items()}}
        for method, ms in legs.items()
    }


def breakdown_table(by_method: dict[str, dict[str, Any]]) -> str:
    """A few lines a person reads: per method, each leg's p50/p99 in ms."""
    rows = [("method", "n", *(f"{leg} p50/p99" for leg in LEGS))]
    for method, legs in sorted(by_method.items()):
        rows.append((method, str(legs["n"]), *("{}/{}".format(*legs[leg]) for leg in LEGS)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows)
