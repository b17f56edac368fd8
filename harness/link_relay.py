"""A userspace relay between participants and livekit-server that delays, jitters and blacks out traffic.

Why userspace: this machine kind's kernel has no ``sch_netem`` (harness/README.md, "Impaired links"), so delay,
jitter and blackouts cannot come from ``tc``. Loss comes from nftables rules (harness/links.py); everything else
from this relay, which runs as its own process (``python -m harness.link_relay CONFIG_JSON``) so that its timers
do not share an event loop (or a GIL) with the benchmark that measures through it.

* **UDP (WebRTC media and data channels).** livekit-server advertises the relay's address as its ICE candidate
  (``rtc.node_ip``) with its own UDP port number; the relay listens on ``listen_ip:udp_port``. Each client
  address gets an upstream socket on 127.0.0.1 towards the server's real port, so the server sees one
  peer-reflexive candidate per client and answers through the relay. A flow belongs to the link whose
  ``src_ips`` contains the client's address (the agent's namespace has an address of its own), else to the
  ``default_link``.
* **TCP (signalling, HTTP).** One listening port per link forwards to the server's HTTP port, byte order kept:
  chunks are delayed, never reordered; during a blackout they are held until it ends (TCP would retransmit).
* **Control.** A datagram ``blackout <link> <ms>`` to ``control_port`` blacks ``link`` out for ``ms``
  milliseconds from its arrival: every UDP datagram of the link, both ways, is dropped. The relay appends one
  JSON line per blackout (and its counters when it stops) to ``events_file``.

One-way delay of a datagram = ``delay_ms`` + uniform(-``jitter_ms``, +``jitter_ms``), clipped at 0, drawn per
datagram and per direction (datagrams may be reordered, as with netem).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

Address = tuple[str, int]
LOOPBACK = "127.0.0.1"


@dataclass
class LinkState:
    """A link's shaping and its current blackout."""

    name: str
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    src_ips: frozenset[str] = frozenset()
    blackout_until: float = 0.0
    dropped: int = 0
    forwarded: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def delay_s(self) -> float:
        jitter = self.rng.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms else 0.0
        return max(0.0, self.delay_ms + jitter) / 1000.0

    def blacked_out(self, now: float) -> bool:
        return now < self.blackout_until


class _Send:
    """Send ``data`` to ``addr`` on ``transport`` after the link's delay, unless the link is blacked out."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def __call__(self, link: LinkState, transport: asyncio.DatagramTransport, data: bytes, addr: Address) -> None:
        if link.blacked_out(time.monotonic()):
            link.dropped += 1
            return
        link.forwarded += 1
        delay = link.delay_s()
        if delay <= 0:
            transport.sendto(data, addr)
        else:
            self.loop.call_later(delay, _send_if_open, transport, data, addr)


def _send_if_open(transport: asyncio.DatagramTransport, data: bytes, addr: Address) -> None:
    if not transport.is_closing():
        transport.sendto(data, addr)


class _Upstream(asyncio.DatagramProtocol):
    """The relay's socket towards the server for one client: server -> client after the link's delay."""

    def __init__(self, relay: UdpRelay, client: Address, link: LinkState) -> None:
        self.relay, self.client, self.link = relay, client, link
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        front = self.relay.transport
        if front is not None:
            self.relay.send(self.link, front, data, self.client)


class UdpRelay(asyncio.DatagramProtocol):
    """The front socket clients talk to (the server's advertised address)."""

    def __init__(self, server: Address, links: dict[str, LinkState], default_link: str) -> None:
        self.server, self.links, self.default_link = server, links, default_link
        self.transport: asyncio.DatagramTransport | None = None
        self.upstreams: dict[Address, _Upstream | None] = {}
        self.send = _Send(asyncio.get_running_loop())

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def link_for(self, client: Address) -> LinkState:
        for link in self.links.values():
            if client[0] in link.src_ips:
                return link
        return self.links[self.default_link]

    def datagram_received(self, data: bytes, addr: Address) -> None:
        upstream = self.upstreams.get(addr)
        if upstream is None:
            if addr in self.upstreams:
                return  # its upstream socket is being opened; ICE retransmits
            self.upstreams[addr] = None
            asyncio.get_running_loop().create_task(self._open(addr, data))
            return
        if upstream.transport is not None:
            self.send(upstream.link, upstream.transport, data, self.server)

    async def _open(self, client: Address, first: bytes) -> None:
        loop = asyncio.get_running_loop()
        link = self.link_for(client)
        _, proto = await loop.create_datagram_endpoint(
            lambda: _Upstream(self, client, link), local_addr=(LOOPBACK, 0), family=socket.AF_INET
        )
        self.upstreams[client] = proto
        if proto.transport is not None:
            self.send(link, proto.transport, first, self.server)


class TcpForward:
    """Forward one TCP port to ``target`` through ``link``: delayed, ordered, held during blackouts."""

    def __init__(self, link: LinkState, target: Address) -> None:
        self.link, self.target = link, target

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        with contextlib.suppress(asyncio.CancelledError):  # the relay stopping
            await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        deliver = asyncio.get_running_loop().create_task(self._deliver(queue, writer))
        last_at = 0.0
        try:
            while chunk := await reader.read(65536):
                now = time.monotonic()
                at = max(last_at, now + self.link.delay_ms / 1000.0, self.link.blackout_until)
                last_at = at
                queue.put_nowait((at, chunk))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            queue.put_nowait((last_at, b""))
            await deliver

    async def _deliver(self, queue: asyncio.Queue[tuple[float, bytes]], writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                at, chunk = await queue.get()
                wait = at - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)  # the link's delay, by design
                if not chunk:
                    break
                writer.write(chunk)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()


class Control(asyncio.DatagramProtocol):
    """``blackout <link> <ms>`` datagrams."""

    def __init__(self, links: dict[str, LinkState], events: Path) -> None:
        self.links, self.events = links, events

    def datagram_received(self, data: bytes, addr: Address) -> None:
        parts = data.decode(errors="replace").split()
        if len(parts) == 3 and parts[0] == "blackout" and parts[1] in self.links:
            link = self.links[parts[1]]
            now = time.monotonic()
            link.blackout_until = now + float(parts[2]) / 1000.0
            _emit(self.events, {"event": "blackout", "link": link.name, "ms": float(parts[2])})


def _emit(path: Path, line: dict[str, Any]) -> None:
    line["wall_ms"] = time.time() * 1000
    with open(path, "a") as out:
        out.write(json.dumps(line) + "\n")


async def serve(config: dict[str, Any]) -> None:
    """Run the relay described by ``config`` (see harness/links.py) until SIGTERM."""
    loop = asyncio.get_running_loop()
    links = {
        name: LinkState(
            name, float(spec.get("delay_ms", 0)), float(spec.get("jitter_ms", 0)), frozenset(spec.get("src_ips", ()))
        )
        for name, spec in config["links"].items()
    }
    listen_ip = config["listen_ip"]
    events = Path(config["events_file"])
    await loop.create_datagram_endpoint(
        lambda: UdpRelay((LOOPBACK, int(config["server_udp_port"])), links, config["default_link"]),
        local_addr=(listen_ip, int(config["udp_port"])),
        family=socket.AF_INET,
    )
    await loop.create_datagram_endpoint(
        lambda: Control(links, events), local_addr=(listen_ip, int(config["control_port"])), family=socket.AF_INET
    )
    servers = []
    tcp_ports: dict[str, int] = {}
    for name in links:
        forward = TcpForward(links[name], (LOOPBACK, int(config["server_http_port"])))
        srv = await asyncio.start_server(forward.handle, host=listen_ip, port=0)
        tcp_ports[name] = srv.sockets[0].getsockname()[1]
        servers.append(srv)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print(json.dumps({"event": "ready", "tcp_ports": tcp_ports}), flush=True)
    await stop.wait()
    _emit(
        events,
        {"event": "stats", "links": {n: {"forwarded": s.forwarded, "dropped": s.dropped} for n, s in links.items()}},
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m harness.link_relay CONFIG_JSON``."""
    args = sys.argv[1:] if argv is None else argv
    asyncio.run(serve(json.loads(args[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
