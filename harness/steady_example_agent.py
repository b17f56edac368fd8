"""The example agent (examples/agent.py) unchanged, except that its worker reports a load of 0.

Why: a livekit-agents worker reports the machine's CPU usage as its load, and livekit-server does not
dispatch a job to a worker whose load is at or above the server's target load ("no servers available" /
"not dispatching agent job since no worker is available" in the server log): the dispatch is dropped, not
retried. On a 2-core machine shared with other test runs that happens at random and a test waits for a job
that never comes. Tests, the demo and the benchmark run on such machines, so their worker always accepts.

Run it like the example: ``python -m harness.steady_example_agent dev`` (same environment variables).
"""

from __future__ import annotations

import importlib

from livekit.agents import AgentServer, cli

# imported by name: mypy checks harness/, not the example (whose script-mode import fallback it dislikes)
server: AgentServer = importlib.import_module("examples.agent").server


def zero_load() -> float:
    """Always 0.0: the worker stays available whatever the machine's CPU usage."""
    return 0.0


server.load_fnc = zero_load

if __name__ == "__main__":
    cli.run_app(server)
