"""Impaired links between participants and livekit-server: the agent and the user each on a link of their own.

Layout (everything inside namespaces this process creates; see harness/README.md, "Impaired links")::

    agent namespace (10.213.8.2)  --veth-->  harness namespace: relay on 10.213.7.1  -->  server on 127.0.0.1
    user participant (in the harness namespace itself)  ----------------^

* The agent worker runs in a network namespace of its own (``nsenter --net``), joined to the harness namespace by
  a veth pair; its only route is to the relay. The user participant stays in the harness process; the relay
  tells the two apart by source address (harness/link_relay.py).
* livekit-server advertises the relay's address (``rtc.node_ip``), ICE over TCP is off (``rtc.tcp_port: 0``)
  and nftables drops any UDP between the server's port and anything but the relay's own upstream sockets, so
  all media and data go through the relay. Signalling goes through the relay's TCP forwarders (one per link).
* Loss: nftables ``numgen random`` drop rules on the relay's UDP port, per link and per direction.
  Delay, jitter and blackouts: the relay. CPU contention (``busy``): burner processes pinned, with the agent
  worker, to the same core.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import netns
from harness.agent_worker import AgentWorker
from harness.lifecycle import StartStop, stop_process_group
from harness.livekit_server import LiveKitServer, free_port

RELAY_IP = netns.DEFAULT_ADDRESS.split("/")[0]
AGENT_GATEWAY, AGENT_IP, AGENT_PREFIX = "10.213.8.1", "10.213.8.2", 24
VETH_HOST, VETH_AGENT = netns.LINK_VETH_HOST, netns.LINK_VETH_AGENT
NFT_TABLE = "shutdown_rpc_links"
TIMING_ENV = "SHUTDOWN_RPC_BENCH_TIMING"  # a file: link_agent appends a JSON line per handled RPC (bench/rpc_timing.py)
BLACKOUT_ENV = "SHUTDOWN_RPC_LINK_BLACKOUT"  # "HOST:PORT LINK MS": the agent triggers a blackout after replying


class LinkError(RuntimeError):
    """The impaired links could not be set up."""


@dataclass(frozen=True)
class LinkShape:
    """One link: round-trip delay, uniform jitter (per direction), loss per direction."""

    rtt_ms: float = 0.0
    jitter_ms: float = 0.0
    loss_pct: float = 0.0

    def relay_spec(self) -> dict[str, float]:
        return {"delay_ms": self.rtt_ms / 2, "jitter_ms": self.jitter_ms}


@dataclass(frozen=True)
class Profile:
    """A named test condition: the agent's link, the user's link, a blackout after the reply, CPU burners."""

    name: str
    agent: LinkShape = field(default_factory=LinkShape)
    user: LinkShape = field(default_factory=LinkShape)
    blackout_ms: float = 0.0
    burners: int = 0
    about: str = ""


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("clean", about="no impairment (still through the relay)"),
        Profile("lossy", LinkShape(rtt_ms=50, loss_pct=1), about="agent link: 50 ms RTT, 1 % loss each way"),
        Profile(
            "mobile",
            LinkShape(rtt_ms=150, jitter_ms=20, loss_pct=5),
            about="agent link: 150 ms RTT, +-20 ms jitter, 5 % loss each way",
        ),
        Profile("blackout", blackout_ms=2000, about="clean, then 2 s of 100 % loss right after the agent's reply"),
        Profile("busy", burners=2, about="clean; 2 CPU burners pinned with the agent worker to one core"),
    )
}


def server_rtc_options() -> dict[str, Any]:
    """``rtc`` overrides for a LiveKitServer behind the relay: advertise the relay, no ICE over TCP."""
    return {"node_ip": RELAY_IP, "tcp_port": 0}


def _nft() -> str:
    """The ``nft`` command (Debian installs it in /usr/sbin, which a non-login PATH may lack)."""
    return shutil.which("nft") or "/usr/sbin/nft"


def _run(cmd: list[str]) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LinkError(f"{' '.join(cmd)}: {exc}") from exc
    if proc.returncode != 0:
        raise LinkError(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")


def _loss_rules(hook: str, shape: LinkShape, match: str) -> list[str]:
    if shape.loss_pct <= 0:
        return []
    return [f"add rule inet {NFT_TABLE} {hook} {match} numgen random mod 10000 < {int(shape.loss_pct * 100)} drop"]


def nft_ruleset(profile: Profile, server_udp_port: int) -> str:
    """The nftables script: media only through the relay, then each link's loss, each direction."""
    port = server_udp_port
    to_relay = f"ip daddr {RELAY_IP} udp dport {port}"
    from_relay = f"ip saddr {RELAY_IP} udp sport {port}"
    lines = [
        f"add table inet {NFT_TABLE}",
        f"add chain inet {NFT_TABLE} in {{ type filter hook input priority 0 ; policy accept ; }}",
        f"add chain inet {NFT_TABLE} out {{ type filter hook output priority 0 ; policy accept ; }}",
        # only the relay's upstream sockets (on 127.0.0.1) may talk to the server's UDP port
        f"add rule inet {NFT_TABLE} in ip daddr 127.0.0.1 udp dport {port} ip saddr != 127.0.0.1 drop",
        f"add rule inet {NFT_TABLE} out ip saddr 127.0.0.1 udp sport {port} ip daddr != 127.0.0.1 drop",
        *_loss_rules("in", profile.agent, f"ip saddr {AGENT_IP} {to_relay}"),
        *_loss_rules("out", profile.agent, f"ip daddr {AGENT_IP} {from_relay}"),
        *_loss_rules("in", profile.user, f"ip saddr != {AGENT_IP} {to_relay}"),
        *_loss_rules("out", profile.user, f"ip daddr != {AGENT_IP} {from_relay}"),
    ]
    return "\n".join(lines) + "\n"


class ImpairedLinks(StartStop):
    """The agent's namespace, the nftables rules, the relay and the burners for one ``profile``.

    Start ``server`` first, with ``rtc_overrides=server_rtc_options()``. Then run agent workers through
    :class:`LinkedAgentWorker` and connect the user to :attr:`user_url`.
    """

    def __init__(self, server: LiveKitServer, profile: Profile, *, log_dir: Path | None = None) -> None:
        self.server, self.profile = server, profile
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="links-"))
        self.relay_events_path = self.log_dir / "relay-events.jsonl"
        self.control_port = 0
        self.tcp_ports: dict[str, int] = {}
        self.agent_cpus = ""
        self._holder: subprocess.Popen[bytes] | None = None
        self._relay: subprocess.Popen[bytes] | None = None
        self._burners: list[subprocess.Popen[bytes]] = []
        self._nft = False

    @property
    def agent_netns(self) -> str:
        if self._holder is None:
            raise LinkError("links not started")
        return f"/proc/{self._holder.pid}/ns/net"

    @property
    def user_url(self) -> str:
        return f"ws://{RELAY_IP}:{self.tcp_ports['user']}"

    @property
    def agent_url(self) -> str:
        return f"ws://{RELAY_IP}:{self.tcp_ports['agent']}"

    def agent_env(self) -> dict[str, str]:
        """LIVEKIT_URL through the agent's link, and the blackout trigger for a ``blackout`` profile."""
        env = {"LIVEKIT_URL": self.agent_url}
        if self.profile.blackout_ms:
            env[BLACKOUT_ENV] = f"{RELAY_IP}:{self.control_port} agent {self.profile.blackout_ms:g}"
        return env

    def relay_events(self) -> list[dict[str, Any]]:
        """What the relay recorded so far (``blackout`` lines; ``stats`` once stopped)."""
        try:
            lines = self.relay_events_path.read_text().splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.strip()]

    def wrap(self, command: list[str]) -> list[str]:
        """``command`` run inside the agent's namespace (and on the burners' core for ``busy``)."""
        pinned = ["taskset", "-c", self.agent_cpus] if self.agent_cpus else []
        return ["nsenter", f"--net={self.agent_netns}", "--", *pinned, *command]

    def start(self) -> None:
        if netns.current() is None:
            raise LinkError("impaired links need the private network namespace (harness.netns.isolate_process())")
        try:
            self._start_agent_netns()
            self._apply_nft()
            self._start_relay()
            self._start_burners()
        except BaseException:
            self.stop()
            raise

    def _start_agent_netns(self) -> None:
        # The holder keeps the namespace alive; it exits when its stdin closes (our exit included).
        holder = subprocess.Popen(
            ["unshare", "--net", "--", sys.executable, "-c", "import sys; print('in', flush=True); sys.stdin.read()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self._holder = holder
        assert holder.stdout is not None
        if holder.stdout.readline().strip() != b"in":
            raise LinkError("could not create the agent's network namespace (unshare --net)")
        enter = ["nsenter", f"--net={self.agent_netns}", "--"]
        _run(["ip", "link", "add", VETH_HOST, "type", "veth", "peer", "name", VETH_AGENT])
        _run(["ip", "link", "set", VETH_AGENT, "netns", str(holder.pid)])
        _run(["ip", "addr", "add", f"{AGENT_GATEWAY}/{AGENT_PREFIX}", "dev", VETH_HOST])
        _run(["ip", "link", "set", VETH_HOST, "up"])
        _run([*enter, "ip", "link", "set", "lo", "up"])
        _run([*enter, "ip", "addr", "add", f"{AGENT_IP}/{AGENT_PREFIX}", "dev", VETH_AGENT])
        _run([*enter, "ip", "link", "set", VETH_AGENT, "up"])
        _run([*enter, "ip", "route", "add", "default", "via", AGENT_GATEWAY])

    def _apply_nft(self) -> None:
        script = nft_ruleset(self.profile, self.server.ports.rtc_udp)
        try:
            proc = subprocess.run([_nft(), "-f", "-"], input=script, capture_output=True, text=True, timeout=15)
        except OSError as exc:
            raise LinkError(f"nft: {exc} (Debian package nftables; scripts/setup.sh installs it)") from exc
        if proc.returncode != 0:
            raise LinkError(f"nft -f failed: {proc.stderr.strip()}\n{script}")
        self._nft = True

    def _start_relay(self) -> None:
        self.control_port = free_port(socket.SOCK_DGRAM)
        config = {
            "listen_ip": RELAY_IP,
            "udp_port": self.server.ports.rtc_udp,
            "server_udp_port": self.server.ports.rtc_udp,
            "server_http_port": self.server.ports.http,
            "control_port": self.control_port,
            "events_file": str(self.relay_events_path),
            "default_link": "user",
            "links": {
                "agent": {**self.profile.agent.relay_spec(), "src_ips": [AGENT_IP]},
                "user": self.profile.user.relay_spec(),
            },
        }
        with open(self.log_dir / "relay.log", "ab") as stderr:
            self._relay = subprocess.Popen(
                [sys.executable, "-m", "harness.link_relay", json.dumps(config)],
                stdout=subprocess.PIPE,
                stderr=stderr,
                start_new_session=True,
                cwd=str(Path(__file__).resolve().parent.parent),
            )
        assert self._relay.stdout is not None
        line = self._relay.stdout.readline()
        try:
            ready = json.loads(line)
        except ValueError:
            raise LinkError(f"relay did not start: {line!r}") from None
        self.tcp_ports = {k: int(v) for k, v in ready["tcp_ports"].items()}

    def _start_burners(self) -> None:
        if not self.profile.burners:
            return
        cpus = sorted(os.sched_getaffinity(0))
        self.agent_cpus = str(cpus[-1])
        for _ in range(self.profile.burners):
            self._burners.append(
                subprocess.Popen(
                    ["taskset", "-c", self.agent_cpus, sys.executable, "-c", "while True: pass"],
                    start_new_session=True,
                )
            )

    def stop(self) -> None:
        for proc in self._burners:
            stop_process_group(proc, 2.0)
        self._burners.clear()
        relay, self._relay = self._relay, None
        if relay is not None:
            stop_process_group(relay, 5.0)
        if self._nft:
            with contextlib.suppress(LinkError):
                _run([_nft(), "delete", "table", "inet", NFT_TABLE])
            self._nft = False
        holder, self._holder = self._holder, None
        if holder is not None:
            with contextlib.suppress(LinkError):
                _run(["ip", "link", "del", VETH_HOST])
            with contextlib.suppress(OSError):
                if holder.stdin is not None:
                    holder.stdin.close()
            holder.kill()
            holder.wait(5)


class LinkedAgentWorker(AgentWorker):
    """An AgentWorker run inside the agent's namespace, reaching the server through the agent's link."""

    def __init__(self, entrypoint: str | Path, *, links: ImpairedLinks, **kwargs: Any) -> None:
        env = {**links.agent_env(), **dict(kwargs.pop("env", None) or {})}
        super().__init__(entrypoint, server=links.server, env=env, **kwargs)
        self.links = links

    def command(self) -> list[str]:
        return self.links.wrap(super().command())
