"""How livekit-server records the end of an agent job: its ``job ended`` log line (status and error).

livekit-server 1.13.5 exposes a job's final state in one place only: ``pkg/agent/worker.go`` logs
``job ended {"jobID": ..., "status": "JS_SUCCESS" | "JS_FAILED", "error": ...}`` at info level when the job
leaves its worker's running set. No webhook carries it, and AgentDispatchService.ListDispatch keeps showing
the state from the dispatch (observed: JS_RUNNING after the job had ended). Which status a job gets is a race
(pkg/rtc/room.go): if the agent participant leaves the room while its job is still running, the server ends
the job with AGENT_LEFT_ROOM -> ``JS_FAILED "agent worker left the room"``; if the worker's UpdateJobStatus
or a TerminateJob with TERMINATION_REQUESTED (DeleteDispatch, the room closing) comes first, ``JS_SUCCESS``.
The observed table is in harness/README.md ("What ends a job").
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

_JOB_ENDED = re.compile(r"\tjob ended\t(\{.*\})\s*$")


@dataclass(frozen=True)
class JobEnding:
    """One ``job ended`` record: the job id, its final status (``JS_SUCCESS``/``JS_FAILED``) and error text."""

    job_id: str
    status: str
    error: str


def job_endings(server_log: Path) -> dict[str, JobEnding]:
    """Every ``job ended`` record in a livekit-server log (console format), by job id."""
    found: dict[str, JobEnding] = {}
    try:
        lines = server_log.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return found
    for line in lines:
        match = _JOB_ENDED.search(line)
        if match:
            fields = json.loads(match.group(1))
            found[fields["jobID"]] = JobEnding(fields["jobID"], str(fields.get("status")), fields.get("error", ""))
    return found


async def wait_job_ending(server_log: Path, job_id: str, *, timeout: float = 30.0) -> JobEnding:
    """The ``job ended`` record of ``job_id``, once the server has logged it; raises TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        ending = job_endings(server_log).get(job_id)
        if ending is not None:
            return ending
        if time.monotonic() > deadline:
            raise TimeoutError(f"no 'job ended' record for {job_id} in {server_log} after {timeout}s")
        await asyncio.sleep(0.05)  # poll interval of the wait
