"""The egress guard (harness/egress.py) sees an outbound attempt by a process the tests start, and refuses it fast.

This is what makes the autouse ``no_egress`` check in conftest.py able to fail: if the guard were not installed
or did not count, this test fails; the check itself then fails any test during which the counter moves.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from harness import egress, netns
from harness.livekit_server import LiveKitServer

PROBE = textwrap.dedent(
    """
    import socket, sys
    for family, address in ((socket.AF_INET, ("192.0.2.1", 443)), (socket.AF_INET, ("198.51.100.7", 53))):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(20)
        try:
            s.connect(address)
        except OSError as exc:
            print(address[0], type(exc).__name__)
        else:
            sys.exit("connected to " + address[0])
    """
)


@pytest.mark.egress_expected
def test_outbound_attempt_from_a_child_process_is_counted_and_refused(livekit_server: LiveKitServer) -> None:
    assert netns.netns_wanted(), "the egress guard needs the private namespace (SHUTDOWN_RPC_E2E_NETNS=0 set?)"
    before = egress.egress_report()
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr + done.stdout
    # refused at once (a reset), not left to time out
    assert done.stdout.split() == ["192.0.2.1", "ConnectionRefusedError", "198.51.100.7", "ConnectionRefusedError"]
    after = egress.egress_report()
    assert after.packets >= before.packets + 2
    assert {"192.0.2.1", "198.51.100.7"} <= set(after.destinations)
    assert {443, 53} <= set(after.ports)


def test_the_server_listens_on_loopback_only(livekit_server: LiveKitServer) -> None:
    """Every socket livekit-server holds is bound to 127.0.0.1 (ICE/TCP, which binds all addresses, is off)."""
    bound = egress.listening_addresses(livekit_server.pid)
    assert bound, "found no socket of the server"
    assert {host for _proto, host, _port in bound} == {"127.0.0.1"}, bound
