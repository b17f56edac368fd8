"""The agent-process side of the harness's record file (harness/agent_worker.py ``RecordFile``): test agents
append one JSON line per event, and report load 0 so livekit-server never drops their dispatches."""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the parent side (AgentWorker) imports RECORD_ENV without loading livekit-agents
    from livekit.agents import JobContext

RECORD_ENV = "HARNESS_RECORD_FILE"  # set by AgentWorker for its agent processes


def zero_load() -> float:
    """The worker reports load 0: livekit-server DROPS a dispatch when every worker's reported load (the
    machine's CPU usage) is at or above its target load, which happens at random on a busy 2-core machine."""
    return 0.0


def record(ctx: JobContext, event: str, **fields: Any) -> None:
    """Append one event line to the record file, if the harness set one; one write() per line, so concurrent
    jobs do not interleave."""
    path = os.environ.get(RECORD_ENV)
    if not path:
        return
    line = {
        "event": event,
        "job_id": ctx.job.id,
        "room": ctx.job.room.name,
        "pid": os.getpid(),
        "mono_ms": time.monotonic() * 1000,
        "wall_ms": time.time() * 1000,
        **fields,
    }
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(line) + "\n").encode())
    finally:
        os.close(fd)
