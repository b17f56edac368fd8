"""Move this process into a private network namespace so that WebRTC traffic cannot leave loopback.

Why: libwebrtc (inside the livekit rtc SDK) never gathers loopback candidates. In the machine's own namespace
a participant therefore offers its eth0 address as host candidate, and the server (advertising 127.0.0.1)
answers to that address: it connects, but packets are addressed to a non-loopback address. Inside a fresh
namespace the only interfaces are ``lo`` and a veth pair this module creates with an address it assigns
(``10.213.7.1/24`` by default); the participants' host candidate is that address, and nothing has a route
anywhere else.

The namespace applies to the calling thread and everything it starts afterwards (subprocesses such as
livekit-server and agent workers, and threads such as the rtc SDK's runtime). Call
:func:`enter_private_netns` before anything creates an ``rtc.Room`` or starts a thread that opens sockets.
Needs CAP_SYS_ADMIN (root, as in CI) and iproute2's ``ip``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
import sys
from dataclasses import dataclass

CLONE_NEWNET = 0x40000000
DEFAULT_ADDRESS = "10.213.7.1/24"
VETH_A, VETH_B = "lkh0", "lkh1"
# The veth pair harness/links.py makes into the agent's own namespace (also a namespace the harness created).
LINK_VETH_HOST, LINK_VETH_AGENT = "lka0", "lka1"
ENV_DISABLE = "SHUTDOWN_RPC_E2E_NETNS"  # "0" = stay in the current namespace


class NetnsError(RuntimeError):
    """The private network namespace could not be set up."""


@dataclass(frozen=True)
class PrivateNetns:
    """What :func:`enter_private_netns` set up."""

    address: str
    interfaces: tuple[str, ...]
    netns_inode: int


_entered: PrivateNetns | None = None


def _netns_inode() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


def _ip(*args: str) -> None:
    try:
        proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetnsError(f"ip {' '.join(args)}: {exc} (is iproute2 installed?)") from exc
    if proc.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)} failed: {proc.stderr.strip()}")


def native_thread_count() -> int:
    """Number of OS threads in this process (threads started before the switch keep the old namespace)."""
    return len(os.listdir("/proc/self/task"))


def enter_private_netns(address: str = DEFAULT_ADDRESS) -> PrivateNetns:
    """Unshare the network namespace of the calling thread and set up ``lo`` plus one veth pair; idempotent."""
    global _entered
    if _entered is not None:
        return _entered
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise NetnsError(
            f"unshare(CLONE_NEWNET) failed: {os.strerror(err)}; run as root (CI does), or set "
            f"{ENV_DISABLE}=0 to use the current namespace (then WebRTC uses this machine's non-loopback "
            "address as host candidate)"
        )
    _ip("link", "set", "lo", "up")
    _ip("link", "add", VETH_A, "type", "veth", "peer", "name", VETH_B)
    _ip("addr", "add", address, "dev", VETH_A)
    _ip("link", "set", VETH_A, "up")
    _ip("link", "set", VETH_B, "up")
    _entered = PrivateNetns(address=address, interfaces=("lo", VETH_A, VETH_B), netns_inode=_netns_inode())
    return _entered


def netns_wanted() -> bool:
    """False only when ``$SHUTDOWN_RPC_E2E_NETNS`` is ``0``."""
    return os.environ.get(ENV_DISABLE, "1") != "0"


def current() -> PrivateNetns | None:
    """The namespace entered by this process, if any."""
    return _entered


def isolate_process() -> str | None:
    """Enter the private namespace for this whole process unless disabled; the reason it could not, or None.

    Call it first thing, before anything creates an rtc.Room or starts livekit-server: the rtc SDK's native
    threads keep the namespace they were started in. Also installs the egress guard (``harness/egress.py``).
    """
    if not netns_wanted():
        return None
    from livekit.rtc._ffi_client import FfiClient

    if FfiClient._instance is not None and current() is None:
        return (
            "the livekit rtc SDK was initialised before the switch to the private network namespace: its threads "
            "stay in the machine's namespace. Do not create rtc objects at import time."
        )
    try:
        enter_private_netns()
        from harness.egress import install_egress_guard  # imports this module

        install_egress_guard()
    except NetnsError as exc:
        return str(exc)
    return None


def isolate_command_line_tool() -> bool:
    """:func:`isolate_process` for a command-line tool (the benchmarks): False, with the reason on stderr, when
    the private namespace could not be set up. Call it first thing, for the same reason."""
    error = isolate_process()
    if error is not None:
        print(f"cannot set up the private network namespace: {error}", file=sys.stderr)
        return False
    return True
