"""The JSON summary and the table of bench/bench_e2e.py: percentiles and ratios against same-run anchors."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.links import Profile


@dataclass
class Samples:
    """Milliseconds measured in one profile's run."""

    echo: list[float] = field(default_factory=list)
    ack: list[float] = field(default_factory=list)
    outcome_ms: list[float] = field(default_factory=list)  # request -> typed failure, when there was no ack
    gone: dict[str, list[float]] = field(default_factory=lambda: {"request": [], "delete_room": []})
    silence: dict[str, list[float]] = field(
        default_factory=lambda: {"request": [], "delete_room": [], "server_cut": []}
    )  # request -> last loud frame heard; DeleteRoom -> ...; MutePublishedTrack of the agent's audio -> ...


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def p50_p99(values: list[float]) -> tuple[float, float, int]:
    return (round(pct(values, 0.5), 1), round(pct(values, 0.99), 1), len(values))


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("nan")


def report(
    profile: Profile,
    s: Samples,
    outcomes: Counter[str],
    failures: list[str],
    *,
    rounds: int,
    elapsed_s: float,
    deadline_s: float,
    load: tuple[tuple[float, float, float], tuple[float, float, float]],
    workdir: Path,
    agent: str = "python",
) -> dict[str, Any]:
    """One profile's summary: every figure the issue asks for, with ratios against anchors of the same run."""
    delivered = outcomes["ack_before_leave"]
    echo50, echo99 = pct(s.echo, 0.5), pct(s.echo, 0.99)
    ack50, ack99 = pct(s.ack, 0.5), pct(s.ack, 0.99)
    gone50, del50 = pct(s.gone["request"], 0.5), pct(s.gone["delete_room"], 0.5)
    rtt = profile.agent.rtt_ms
    silence50, cut50 = pct(s.silence["request"], 0.5), pct(s.silence["server_cut"], 0.5)
    return {
        "agent": agent,
        "profile": profile.name,
        "about": profile.about,
        "rounds": rounds,
        "elapsed_s": round(elapsed_s, 1),
        "delivery_pct": round(100.0 * delivered / rounds, 2),
        "outcomes": dict(outcomes),
        # every round without an ack must surface as AgentLeftBeforeReply (the request took effect)
        "misses_reported_as_left_before_reply": f"{outcomes['AgentLeftBeforeReply']}/{rounds - delivered}",
        "typed_outcome_ms_max": round(max(s.outcome_ms), 1) if s.outcome_ms else None,
        "caller_deadline_ms": deadline_s * 1000,
        "failures": failures[:10],
        "echo_ms_p50_p99": p50_p99(s.echo),
        "ack_ms_p50_p99": p50_p99(s.ack),
        "silence_ms_p50_p99": p50_p99(s.silence["request"]),
        "gone_ms_p50_p99_n": {k: p50_p99(v) for k, v in s.gone.items()},
        "silence_delete_room_ms_p50_p99": p50_p99(s.silence["delete_room"]),
        "ack_over_echo_p50_p99": (ratio(ack50, echo50), ratio(ack99, echo99)),
        "silence_over_delete_room_gone_p50": ratio(silence50, del50),
        "silence_server_cut_ms_p50_p99": p50_p99(s.silence["server_cut"]),
        "silence_minus_server_cut_ms_p50": round(silence50 - cut50, 1),
        # in agent-link RTTs (the profile's configured RTT; None on links without one, e.g. clean)
        "silence_minus_server_cut_in_rtts_p50": ratio(silence50 - cut50, rtt) if rtt else None,
        "silence_target_met": bool(silence50 <= cut50 + rtt + 20.0),  # anchor + 1 agent-link RTT + 20 ms
        "gone_over_delete_room_p50": ratio(gone50, del50),
        "gone_minus_delete_room_in_rtts_p50": ratio(gone50 - del50, rtt) if rtt else None,
        "machine": {"cpus": os.cpu_count(), "loadavg_before": load[0], "loadavg_after": load[1]},
        "logs": str(workdir),
    }


def table(summaries: list[dict[str, Any]]) -> str:
    """A human table of the summaries (one row per profile)."""
    head = (
        "profile (agent)", "deliv%", "misses=ALBR", "ack p50/p99", "echo p50/p99", "ack/echo p50,p99",
        "silence p50", "cut p50", "sil-cut ms (RTTs)", "gone p50", "DelRoom p50", "silence/DelRoom", "gone/DelRoom",
        "load",
    )  # fmt: skip
    rows = [head]
    for r in summaries:
        rows.append(
            (
                "{} ({}{})".format(
                    r["profile"],
                    r.get("agent", "python"),
                    "" if r.get("flush_delay_s") is None else f", bound {r['flush_delay_s']} s",
                )
                + ("" if r.get("concurrency", 1) == 1 else f" x{r['concurrency']}"),
                f"{r['delivery_pct']}",
                r["misses_reported_as_left_before_reply"],
                "{}/{}".format(*r["ack_ms_p50_p99"][:2]),
                "{}/{}".format(*r["echo_ms_p50_p99"][:2]),
                "{},{}".format(*r["ack_over_echo_p50_p99"]),
                f"{r['silence_ms_p50_p99'][0]}",
                f"{r['silence_server_cut_ms_p50_p99'][0]}",
                f"{r['silence_minus_server_cut_ms_p50']} ({r['silence_minus_server_cut_in_rtts_p50']})",
                f"{r['gone_ms_p50_p99_n']['request'][0]}",
                f"{r['gone_ms_p50_p99_n']['delete_room'][0]}",
                f"{r['silence_over_delete_room_gone_p50']}",
                f"{r['gone_over_delete_room_p50']}",
                "{:.1f}".format(r["machine"]["loadavg_after"][0]),
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows)
