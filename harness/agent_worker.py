"""Run a real livekit-agents worker (explicit dispatch) against a harness server, and read what its jobs record.

Design: the agent runs as a SUBPROCESS, exactly like in production, as ``python <agent file> dev`` (or
``python -m <module> dev``), with LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET and
``LIVEKIT_AGENT_NAME`` in its environment. Why a subprocess and not an in-process ``AgentServer``:

* the entrypoint under test is an ordinary agent file (the project's example agent goes through the same
  path), run by the real CLI, with the real PROCESS job executor: job processes, IPC, TerminateJob handling
  and ``shutdown_process_timeout`` behave as in production;
* the worker owns its event loop and signals; pytest's per-test event loops and the rtc participants in the
  test process stay independent of it, and a crashing agent cannot take the test process down;
* teardown is a process-group kill: nothing survives a test run.

Why ``dev`` and not ``start``: ``start`` binds the worker's health server to the fixed port 8081, so two
workers would collide; ``dev`` uses a free port, keeps no pre-warmed idle processes (cheaper on 2 cores),
and exits on SIGTERM without draining (``start`` would wait up to ``drain_timeout`` = 3600 s for jobs).
Pass ``mode="start"`` to run the production command instead (one worker at a time).

``agent_name`` is always set, so the worker only takes jobs created by AgentDispatchService.CreateDispatch
(:meth:`AgentWorker.dispatch`) or by a token's room configuration. An agent file that hard-codes its own
``agent_name`` keeps it (``LIVEKIT_AGENT_NAME`` is only the default); pass ``force_agent_name=True`` to
override it through ``LIVEKIT_AGENT_NAME_OVERRIDE``.

Recording: the worker's environment carries ``HARNESS_RECORD_FILE``; an agent that wants to be observed
appends one JSON object per line there (see ``tests/e2e/agents/recording_agent.py``); :class:`RecordFile`
reads and waits on those lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from livekit import api

from harness.job_events import RECORD_ENV
from harness.lifecycle import StartStop, stop_process_group, track, untrack
from harness.livekit_server import LiveKitServer

REPO_ROOT = Path(__file__).resolve().parent.parent
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_REGISTERED = re.compile(r"registered worker.*?\"id\": \"(?P<id>[^\"]+)\"")

Event = dict[str, Any]


class WorkerStartError(RuntimeError):
    """The agent worker exited or did not register with the server in time."""


class RecordFile:
    """The JSON-lines file a recording agent appends events to (one object per line)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def events(self, *, room: str | None = None, event: str | None = None) -> list[Event]:
        """All complete lines so far, optionally filtered by room name and event name."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return []
        out: list[Event] = []
        for line in text.splitlines(keepends=True):
            if not line.endswith("\n"):
                break  # a line still being written
            item: Event = json.loads(line)
            if room is not None and item.get("room") != room:
                continue
            if event is not None and item.get("event") != event:
                continue
            out.append(item)
        return out

    async def wait_for(
        self,
        *,
        room: str | None = None,
        event: str | None = None,
        where: Callable[[Event], bool] | None = None,
        timeout: float = 30.0,
    ) -> Event:
        """The first matching event; polls the file until it appears or raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            for item in self.events(room=room, event=event):
                if where is None or where(item):
                    return item
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no event={event!r} room={room!r} in {self.path} after {timeout}s; have: {self.events(room=room)}"
                )
            await asyncio.sleep(0.05)  # poll interval of the wait, not a synchronisation sleep


def process_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (absent, or a zombie waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


async def wait_process_gone(pid: int, timeout: float = 30.0) -> None:
    """Wait until process ``pid`` has exited; raises TimeoutError."""
    deadline = time.monotonic() + timeout
    while not process_gone(pid):
        if time.monotonic() > deadline:
            raise TimeoutError(f"process {pid} still running after {timeout}s")
        await asyncio.sleep(0.05)


class AgentWorker(StartStop):
    """One agent worker subprocess registered with explicit dispatch under ``agent_name``.

    ``entrypoint`` is a path to an agent file (run as ``python FILE MODE``) or a dotted module name (run as
    ``python -m MODULE MODE``); either must end in ``cli.run_app(server)`` under ``__main__``.
    """

    registered_pattern = _REGISTERED  # the worker log line that says the server registered it (and its id)

    def __init__(
        self,
        entrypoint: str | Path,
        *,
        server: LiveKitServer,
        agent_name: str,
        record_file: Path | None = None,
        env: Mapping[str, str] | None = None,
        mode: Literal["dev", "start"] = "dev",
        force_agent_name: bool = False,
        log_path: Path | None = None,
        ready_timeout: float = 60.0,
        python: str = sys.executable,
    ) -> None:
        self.entrypoint = entrypoint
        self.server = server
        self.agent_name = agent_name
        self.mode = mode
        self._force_agent_name = force_agent_name
        self._extra_env = dict(env or {})
        self._ready_timeout = ready_timeout
        self._python = python
        # A temporary directory only for what the caller did not place; stop() removes it.
        own = not (record_file and log_path)
        self._tmpdir = Path(tempfile.mkdtemp(prefix=f"agent-worker-{agent_name}-")) if own else None
        self.record = RecordFile(record_file or self._own_dir() / "record.jsonl")
        self.log_path = log_path or self._own_dir() / "worker.log"
        self.worker_id: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    def _own_dir(self) -> Path:
        assert self._tmpdir is not None
        return self._tmpdir

    def command(self) -> list[str]:
        target = str(self.entrypoint)
        if target.endswith(".py") or os.sep in target:
            return [self._python, str(Path(target).resolve()), self.mode]
        return [self._python, "-m", target, self.mode]

    def environment(self) -> dict[str, str]:
        env = {**os.environ, **self.server.env(), RECORD_ENV: str(self.record.path)}
        env["LIVEKIT_AGENT_NAME"] = self.agent_name
        if self._force_agent_name:
            env["LIVEKIT_AGENT_NAME_OVERRIDE"] = self.agent_name
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.update(self._extra_env)
        return env

    def log_tail(self, max_chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-max_chars:]
        except OSError:
            return ""

    def _log_of_this_run(self) -> str:
        """The log written since this start (a reused log file still holds earlier runs' lines)."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("worker not started")
        return self._proc.pid

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start the worker and block until the server confirmed its registration."""
        if self._proc is not None:
            raise RuntimeError("worker already started")
        with open(self.log_path, "ab") as log:
            self._log_offset = log.tell()
            self._proc = subprocess.Popen(
                self.command(),
                env=self.environment(),
                cwd=str(REPO_ROOT),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group, including forkserver and job processes
            )
        track(self)  # stopped on SIGTERM/SIGINT too (harness/lifecycle.py)
        deadline = time.monotonic() + self._ready_timeout
        while True:
            match = self.registered_pattern.search(_ANSI.sub("", self._log_of_this_run()))
            if match:
                self.worker_id = match.group("id")
                return
            code = self._proc.poll()
            if code is not None or time.monotonic() > deadline:
                why = f"exited with code {code}" if code is not None else f"not registered after {self._ready_timeout}s"
                tail = self.log_tail()  # read before stop() removes a temporary log
                self.stop()
                raise WorkerStartError(f"agent worker {self.command()} {why}\n--- log tail ---\n{tail}")
            time.sleep(0.05)  # poll interval of the readiness probe

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the worker's process group (worker, forkserver, jobs), SIGKILL after ``timeout``; then remove
        the temporary directory this worker created (its record and log, unless the caller placed them)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_process_group(proc, timeout)
            untrack(self)
        tmpdir, self._tmpdir = self._tmpdir, None
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)

    async def dispatch(self, lkapi: api.LiveKitAPI, room: str, *, metadata: str = "") -> api.AgentDispatch:
        """CreateDispatch of this worker's agent into ``room`` (the server creates the room if needed)."""
        return await lkapi.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(agent_name=self.agent_name, room=room, metadata=metadata)
        )


async def wait_for_agent_participant(
    lkapi: api.LiveKitAPI, room: str, *, agent_name: str | None = None, timeout: float = 30.0
) -> api.ParticipantInfo:
    """Poll RoomService.ListParticipants until an AGENT-kind participant (optionally of ``agent_name``) is in."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(api.TwirpError):
            res = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
            for p in res.participants:
                if p.kind == api.ParticipantInfo.Kind.AGENT and (
                    agent_name is None or p.attributes.get("lk.agent.name") == agent_name
                ):
                    return p
        if time.monotonic() > deadline:
            raise TimeoutError(f"no agent participant in room {room!r} after {timeout}s")
        await asyncio.sleep(0.1)  # poll interval of the wait
