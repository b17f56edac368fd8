"""Run a LiveKit Agents for Node.js worker (the example Node agent) against a harness server, like AgentWorker.

The worker is ``node js/live/node_agent.mjs dev``: the example Node agent (js/examples/agent/agent.mjs) with a
worker that reports load 0 (see that file), in its own process group, with the same environment contract as the
Python worker (LIVEKIT_URL / _API_KEY / _API_SECRET, LIVEKIT_AGENT_NAME, SHUTDOWN_RPC_* variables). Its jobs are
child processes of the worker; each job records ``entrypoint_started`` with its ``pid`` in the events file.

It needs node, ``js/node_modules`` (``npm ci``) and the built package (``npm run build``: the agent imports
``livekit-shutdown-rpc/agent`` from js/dist); :func:`ensure_node_agent_built` checks the first two and builds, or
raises NodeAgentUnavailable with the reason (tests turn it into a failure, never a skip).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from harness.agent_worker import REPO_ROOT, AgentWorker

JS_DIR = REPO_ROOT / "js"
NODE_AGENT = JS_DIR / "live" / "node_agent.mjs"
# @livekit/agents logs through pino-pretty in dev mode: the worker id is on a line of its own after the message
_NODE_REGISTERED = re.compile(r'registered worker[\s\S]*?\bid: "(?P<id>[^"]+)"')


class NodeAgentUnavailable(RuntimeError):
    """node, the JS packages or the JS build are missing."""


def ensure_node_agent_built(*, build: bool = True) -> Path:
    """The node executable's path, after ``npm run build`` in js/ (unless ``build`` is False)."""
    node = shutil.which("node")
    if node is None:
        raise NodeAgentUnavailable("node is not installed (scripts/setup.sh installs the JS side)")
    if not (JS_DIR / "node_modules" / "@livekit" / "agents").is_dir():
        raise NodeAgentUnavailable("js/node_modules lacks @livekit/agents: run `cd js && npm ci`")
    if build:
        done = subprocess.run(["npm", "run", "--silent", "build"], cwd=JS_DIR, capture_output=True, text=True)
        if done.returncode != 0:
            raise NodeAgentUnavailable(f"npm run build failed:\n{done.stdout}\n{done.stderr}")
    return Path(node)


class NodeAgentWorker(AgentWorker):
    """One Node agent worker subprocess (explicit dispatch under ``agent_name``)."""

    registered_pattern = _NODE_REGISTERED

    def __init__(self, entrypoint: str | Path = NODE_AGENT, *, node: str | Path = "node", **kwargs: Any) -> None:
        super().__init__(entrypoint, **kwargs)
        self._node = str(node)

    def command(self) -> list[str]:
        return [self._node, str(self.entrypoint), self.mode]

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env.setdefault("LOG_LEVEL", "debug")
        return env
