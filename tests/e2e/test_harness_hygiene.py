"""The harness leaves nothing behind: a signal to the process that started a server and a worker stops both
(their process groups are gone) and removes the worker's temporary directory; a reused worker log never makes
the harness take an earlier run's "registered worker" line for this run's registration.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.agent_worker import AgentWorker, process_gone
from harness.livekit_server import LiveKitServer
from tests.e2e.conftest import RECORDING_AGENT

REPO_ROOT = Path(__file__).resolve().parents[2]

# A "benchmark" that starts a server and a worker, says which processes it started, then waits for a signal.
CHILD = {
    "asyncio": textwrap.dedent(
        """
        import asyncio, json, sys
        from harness.agent_worker import AgentWorker
        from harness.livekit_server import LiveKitServer

        async def main() -> None:
            async with LiveKitServer(log_level="warn") as server:
                worker = AgentWorker(sys.argv[1], server=server, agent_name="hygiene")
                await asyncio.to_thread(worker.start)
                report = {"server": server.pid, "worker": worker.pid, "tmp": str(worker.log_path.parent)}
                print(json.dumps(report), flush=True)
                await asyncio.Event().wait()

        asyncio.run(main())
        """
    ),
    "sync": textwrap.dedent(
        """
        import json, signal, sys
        from harness.agent_worker import AgentWorker
        from harness.livekit_server import LiveKitServer

        with LiveKitServer(log_level="warn") as server, AgentWorker(sys.argv[1], server=server, agent_name="h") as w:
            print(json.dumps({"server": server.pid, "worker": w.pid, "tmp": str(w.log_path.parent)}), flush=True)
            signal.pause()
        """
    ),
}


def group_members(pgid: int) -> list[int]:
    """Live processes whose process group is ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid and not process_gone(int(entry.name)):
                    members.append(int(entry.name))
            except ProcessLookupError:
                continue
    return members


@pytest.mark.parametrize(("style", "sig"), [("asyncio", signal.SIGTERM), ("sync", signal.SIGINT)])
def test_a_signal_stops_server_and_worker_and_removes_the_temp_dir(
    livekit_server: LiveKitServer, style: str, sig: signal.Signals
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD[style], str(RECORDING_AGENT)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line, f"child started nothing: {child.stderr.read() if child.stderr else ''}"
        started = json.loads(line)
        assert group_members(started["server"]) and group_members(started["worker"])
        assert Path(started["tmp"]).is_dir()

        child.send_signal(sig)
        code = child.wait(timeout=60)
        # it died of the signal (SIGTERM), or of KeyboardInterrupt (Python exits by re-raising SIGINT)
        assert code == -sig, (code, child.stderr.read() if child.stderr else "")
        # the handler stopped both before the child died: nothing of either process group is left
        for leader in (started["server"], started["worker"]):
            assert group_members(leader) == [], f"process group {leader} outlived the signal"
        assert not Path(started["tmp"]).exists(), "the worker's temporary directory was left behind"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_a_reused_log_never_matches_an_earlier_registration(livekit_server: LiveKitServer, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    log.write_text('INFO livekit.agents registered worker {"agent_name": "x", "id": "AW_fromEarlierRun"}\n')
    worker = AgentWorker(
        RECORDING_AGENT, server=livekit_server, agent_name="reused-log", log_path=log, record_file=tmp_path / "r.jsonl"
    )
    with worker:
        assert worker.worker_id is not None and worker.worker_id.startswith("AW_")
        assert worker.worker_id != "AW_fromEarlierRun"
        assert f'"id": "{worker.worker_id}"' in log.read_text().split("AW_fromEarlierRun", 1)[1]


def test_agent_worker_removes_only_the_directory_it_created(livekit_server: LiveKitServer, tmp_path: Path) -> None:
    own = AgentWorker(RECORDING_AGENT, server=livekit_server, agent_name="tmp-own")
    placed = AgentWorker(
        RECORDING_AGENT,
        server=livekit_server,
        agent_name="tmp-placed",
        log_path=tmp_path / "w.log",
        record_file=tmp_path / "r.jsonl",
    )
    own_dir = own.log_path.parent
    assert own_dir.is_dir() and placed.log_path.parent == tmp_path
    own.stop()
    placed.stop()
    assert not own_dir.exists()
    assert tmp_path.is_dir()
