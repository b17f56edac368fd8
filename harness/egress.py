"""Egress guard for the private network namespace: count (and refuse) every packet that would leave loopback.

Inside the namespace of ``harness/netns.py`` nothing had a route out, so an outbound attempt failed in
``connect()``/``sendto()`` with ENETUNREACH before any packet existed: invisible. The guard adds default routes
into the namespace's veth (IPv4 via an address nobody holds, IPv6 on-link) so such packets are routed, and an
nftables ``output`` chain lets ``lo`` through and counts, records (destination address and port) and rejects
everything else: the sender gets a fast error, nothing waits on ARP, and a test can read what was attempted.
Traffic between the harness's own processes is on ``lo`` (the veth address is local, so it routes over ``lo``),
or on the veth into the agent's namespace that harness/links.py creates (another namespace of the harness's own).
Link-local multicast (the kernel's IPv6 neighbour discovery and MLD on the veth) is let through: it never
leaves the namespace's own link.

Needs the ``nft`` command (Debian package ``nftables``, installed by scripts/setup.sh) and must run inside the
namespace (after :func:`harness.netns.enter_private_netns`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.netns import LINK_VETH_HOST, VETH_A, NetnsError

TABLE = "harness_egress"
_GATEWAY4 = "10.213.7.254"  # inside the veth's /24, held by nobody: packets are rejected before ARP matters

_RULESET = f"""
table inet {TABLE} {{
    counter egress {{}}
    set dst4 {{ type ipv4_addr; flags dynamic; size 1024; }}
    set dst6 {{ type ipv6_addr; flags dynamic; size 1024; }}
    set port {{ type inet_service; flags dynamic; size 1024; }}
    chain output {{
        type filter hook output priority 0; policy accept;
        oifname "lo" accept
        oifname "{LINK_VETH_HOST}" accept
        ip6 daddr ff02::/16 accept
        ip daddr 224.0.0.0/24 accept
        meta nfproto ipv4 add @dst4 {{ ip daddr }}
        meta nfproto ipv6 add @dst6 {{ ip6 daddr }}
        meta l4proto {{ tcp, udp }} add @port {{ th dport }}
        counter name egress
        meta l4proto tcp reject with tcp reset
        reject
    }}
}}
"""


@dataclass(frozen=True)
class EgressReport:
    """Packets refused so far, and the destinations and ports they were addressed to."""

    packets: int
    destinations: tuple[str, ...]
    ports: tuple[int, ...]

    def describe(self) -> str:
        return f"{self.packets} packet(s) to {', '.join(self.destinations) or '?'} (ports {list(self.ports)})"


def _nft(*args: str, stdin: str | None = None) -> str:
    nft = shutil.which("nft") or "/usr/sbin/nft"
    try:
        proc = subprocess.run([nft, *args], input=stdin, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetnsError(f"nft {' '.join(args)}: {exc} (Debian nftables; scripts/setup.sh installs it)") from exc
    if proc.returncode != 0:
        raise NetnsError(f"nft {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=False)


_installed = False


def install_egress_guard() -> None:
    """Route everything non-local into the veth and count/reject it there; once per process. Raises NetnsError."""
    global _installed
    if _installed:
        return
    if _ip("route", "replace", "default", "via", _GATEWAY4, "dev", VETH_A).returncode != 0:
        raise NetnsError(f"cannot add the IPv4 default route via {VETH_A} (inside the private namespace?)")
    _ip("-6", "route", "replace", "default", "dev", VETH_A)  # best effort: IPv6 may be disabled
    existing = _nft("list", "tables")
    if f"table inet {TABLE}" in existing:
        _nft("delete", "table", "inet", TABLE)
    _nft("-f", "-", stdin=_RULESET)
    _installed = True


def egress_report() -> EgressReport:
    """What the guard has refused since it was installed. Raises NetnsError when it is not installed."""
    data = json.loads(_nft("-j", "list", "table", "inet", TABLE))
    packets = 0
    destinations: list[str] = []
    ports: list[int] = []
    for item in data.get("nftables", []):
        if "counter" in item and item["counter"].get("name") == "egress":
            packets = int(item["counter"]["packets"])
        elif "set" in item:
            elements = item["set"].get("elem", [])
            values = [e["elem"]["val"] if isinstance(e, dict) and "elem" in e else e for e in elements]
            if item["set"]["name"] == "port":
                ports.extend(int(v) for v in values)
            else:
                destinations.extend(str(v) for v in values)
    return EgressReport(packets, tuple(sorted(destinations)), tuple(sorted(ports)))


def _decode_address(hex_addr: str) -> str:
    """/proc/net/{tcp,udp}[6] ``ADDR:PORT`` hex address -> printable IP (words are host-endian, little here)."""
    raw = bytes.fromhex(hex_addr)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


def listening_addresses(pid: int) -> list[tuple[str, str, int]]:
    """``(proto, address, port)`` of the listening TCP sockets and all UDP sockets process ``pid`` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found: list[tuple[str, str, int]] = []
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        lines = Path(f"/proc/{pid}/net/{proto}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if inode in inodes and (proto.startswith("udp") or state == "0A"):  # 0A = LISTEN
                address, port = local.rsplit(":", 1)
                found.append((proto, _decode_address(address), int(port, 16)))
    return found
