"""Fixtures for the Node agent e2e tests: the example Node agent (js/examples/agent/agent.mjs) in a real
LiveKit Agents for Node.js worker against the session's livekit-server (and, for the cluster test, against node 0 of
the 2-node cluster), trusting the session's throwaway keys; jobs with a user participant that listens to the
agent's audio and collects its attributes.

The worker is built and started by the harness (harness/node_agent_worker.py); a missing node, missing JS packages
or a failing build FAIL the test with the reason, never skip it. The agent waits up to 10 s for a caller's receipt
(SHUTDOWN_RPC_REPLY_FLUSH_DELAY_S): every caller here sends one, so a leave that comes is receipt-driven, and the
log line that says so is checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from livekit import api, rtc

from harness.agent_worker import Event, RecordFile, wait_process_gone
from harness.audio_watch import AudioWatch
from harness.livekit_server import LiveKitServer
from harness.node_agent_worker import NodeAgentUnavailable, NodeAgentWorker, ensure_node_agent_built
from harness.participant import RoomParticipant
from tests.e2e.remote_fixtures import TIMEOUT, E2EKeys, Job, wall_ms

FLUSH_BOUND_S = "10"
GREETING = "x" * 500  # 20 s of tone: the agent is mid-utterance whenever a request arrives


@dataclass
class NodeAgent:
    worker: NodeAgentWorker
    events: RecordFile


@dataclass
class NodeJob(Job):
    """One dispatched job of the Node agent, next to a Python participant ``user`` listening to it."""

    watch: AudioWatch
    left_ms: list[float] = field(default_factory=list)  # wall ms the user saw the agent leave
    endings: list[dict[str, str]] = field(default_factory=list)  # the agent's attributes with state=ending


@pytest.fixture(scope="session", name="node_binary")
def node_binary_fixture() -> str:
    """node, after the JS build the Node agent imports (js/dist)."""
    try:
        return str(ensure_node_agent_built())
    except NodeAgentUnavailable as exc:
        pytest.fail(f"the Node agent cannot run: {exc}", pytrace=False)


def start_node_worker(server: LiveKitServer, node: str, keys: E2EKeys, workdir: Path, name: str) -> NodeAgent:
    events = workdir / "events.jsonl"
    env = {
        "SHUTDOWN_RPC_KEYS": keys.agent_env_value(),
        "SHUTDOWN_RPC_EVENTS_FILE": str(events),
        "SHUTDOWN_RPC_GREETING": GREETING,
        "SHUTDOWN_RPC_REPLY_FLUSH_DELAY_S": FLUSH_BOUND_S,
    }
    worker = NodeAgentWorker(
        node=node,
        server=server,
        agent_name=name,
        env=env,
        record_file=workdir / "record.jsonl",
        log_path=workdir / "worker.log",
    )
    worker.start()
    return NodeAgent(worker, RecordFile(events))


@pytest.fixture(scope="session", name="node_agent")
def node_agent_fixture(
    livekit_server: LiveKitServer, node_binary: str, e2e_keys: E2EKeys, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NodeAgent]:
    """One Node agent worker for the session (one job per room)."""
    agent = start_node_worker(livekit_server, node_binary, e2e_keys, tmp_path_factory.mktemp("node-agent"), "node-e2e")
    try:
        yield agent
    finally:
        agent.worker.stop()


async def start_node_job(agent: NodeAgent, lkapi: api.LiveKitAPI, user: RoomParticipant, room: str) -> NodeJob:
    """Dispatch the Node agent into ``room`` (``user`` is in it already); returns once the user hears it speak."""
    await agent.worker.dispatch(lkapi, room)
    started = await agent.events.wait_for(room=room, event="entrypoint_started", timeout=TIMEOUT)
    remote = await user.wait_for_agent(agent_name=agent.worker.agent_name, timeout=TIMEOUT)
    assert remote.identity == started["identity"]
    watch = AudioWatch(user.room, remote.identity).attach()
    await user.wait_until(lambda: bool(remote.attributes.get("shutdown_rpc.method")), timeout=TIMEOUT, what="advert")
    await watch.wait_loud(timeout=TIMEOUT)
    job = NodeJob(room, user, started, remote.identity, started["job_id"], int(started["pid"]), watch=watch)

    def on_left(participant: rtc.RemoteParticipant) -> None:
        if participant.identity == job.agent_identity:
            job.left_ms.append(wall_ms())

    def on_attributes(_changed: dict[str, str], participant: rtc.Participant) -> None:
        if participant.identity == job.agent_identity and participant.attributes.get("shutdown_rpc.state") == "ending":
            job.endings.append(dict(participant.attributes))

    user.room.on("participant_disconnected", on_left)
    user.room.on("participant_attributes_changed", on_attributes)
    return job


async def assert_node_job_ended(agent: NodeAgent, job: NodeJob, *, request_id: str, issuer: str, reason: str) -> Event:
    """Everything an accepted request (drain=false) must lead to, as seen by the user, the agent and its logs:
    the ending attributes, silence before the leave, the receipt-driven leave, the callback once with the caller's
    reason, the job process gone. Returns the callback event."""
    await job.user.wait_participant_left(job.agent_identity, timeout=TIMEOUT)
    callback = await agent.events.wait_for(room=job.room, event="shutdown_callback", timeout=TIMEOUT)
    await wait_process_gone(job.pid, timeout=TIMEOUT)
    assert len(agent.events.events(room=job.room, event="shutdown_callback")) == 1
    assert callback["reason"] == f"remote shutdown by {issuer} [{request_id}]: {reason}"
    assert (callback["issuer"], callback["request_id"], callback["caller_reason"]) == (issuer, request_id, reason)
    # the user saw why the agent was leaving
    assert job.endings, "the user never saw the ending attributes"
    ending = job.endings[0]
    assert (ending["shutdown_rpc.request_id"], ending["shutdown_rpc.issuer"]) == (request_id, issuer)
    assert "shutdown_rpc.reason" not in ending  # the example does not show reasons
    # silence first: the agent silenced its session before its accepted hook ran, and that before the user saw it
    # leave (test_user_hears_silence_before_the_agent_leaves checks the silence as the user hears it)
    accepted = agent.events.events(room=job.room, event="remote_shutdown_accepted")
    assert [a["request_id"] for a in accepted] == [request_id]
    assert accepted[0]["options"]["drain"] is False
    assert job.left_ms and accepted[0]["wall_ms"] <= job.left_ms[0]
    # receipt-driven: the agent left because the caller's receipt came, not at its 10 s bound
    log = agent.worker.log_tail(max_chars=1 << 24)
    assert re.search(rf"receipt of {re.escape(request_id)} arrived, leaving", log), "no receipt-driven leave in the log"
    return callback
