"""The example agent (examples/agent.py) with two hooks for the fault tests, keyed on the request's reason:

* reason starting with ``hold``: the veto records ``held`` (with the job process's pid) and waits until the
  file ``$FAULT_RELEASE_DIR/<request_id>`` exists, then lets the request through: the call stays pending
  for as long as a test needs to break something (kill the agent, restart the server, drop the caller);
* reason ``crash-during-drain``: once accepted (and answered), the job process dies (exit code 70) 0.3 s
  into its drain, while the greeting is still being spoken.

Everything else is the example's own behaviour; the worker reports load 0 (harness/steady_example_agent.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import os
from pathlib import Path
from typing import Any

from livekit.agents import AgentServer, JobContext, cli

from shutdown_rpc.agent_side import AccessPolicy, EndingTimings, RemoteRequest

example: Any = importlib.import_module("examples.agent")
server: AgentServer = example.server
server.load_fnc = lambda: 0.0
_policy_from_env = example.policy_from_env
CRASH_EXIT_CODE = 70


def _policy(ctx: JobContext) -> tuple[AccessPolicy, EndingTimings]:
    access, timings = _policy_from_env(ctx)
    release_dir = Path(os.environ["FAULT_RELEASE_DIR"])

    async def hold(remote: RemoteRequest) -> None:
        if not remote.request.reason.startswith("hold"):
            return
        example.record_event(ctx, "held", request_id=remote.request_id, pid=os.getpid())
        while not (release_dir / remote.request_id).exists():  # noqa: ASYNC110 - another process creates it
            await asyncio.sleep(0.05)

    base_on_accepted = timings.on_accepted
    assert base_on_accepted is not None

    def on_accepted(remote: RemoteRequest) -> None:
        base_on_accepted(remote)
        if remote.request.reason == "crash-during-drain":
            example.record_event(ctx, "crashing", pid=os.getpid())
            asyncio.get_running_loop().call_later(0.3, os._exit, CRASH_EXIT_CODE)

    return dataclasses.replace(access, veto=hold), dataclasses.replace(timings, on_accepted=on_accepted)


example.policy_from_env = _policy

if __name__ == "__main__":
    cli.run_app(server)
