"""Run a real livekit-server (dev mode) on loopback for tests and benchmarks.

Everything it opens is bound to 127.0.0.1 and everything it advertises is 127.0.0.1:

* ``rtc.node_ip: 127.0.0.1`` -> ICE host candidates are rewritten to 127.0.0.1 and the server does NOT add
  public STUN servers to its own ICE agent (it does when the node IP is auto-detected);
* ``rtc.stun_servers`` points at a closed loopback port -> the join response no longer hands the clients
  LiveKit's default public STUN servers (no DNS lookup, no packet leaves the machine);
* ``rtc.ips.includes: 127.0.0.1/32`` + ``enable_loopback_candidate`` -> the UDP mux only uses loopback;
* ``agents.target_load: 100`` -> dispatches are not dropped when the machine is busy (see server_config);
* ``rtc.tcp_port: 0`` -> no ICE/TCP listener: livekit-server 1.13.5 binds it on ALL addresses whatever
  ``bind_addresses`` says (mediatransportutil ``rtcconfig/webrtc_config.go``: ``net.ListenTCP("tcp",
  &net.TCPAddr{Port: ...})``), and every harness client reaches the server over UDP.

Usage::

    async with LiveKitServer() as server:
        print(server.url, server.api_key, server.api_secret)

CLI: ``python -m harness.livekit_server --ensure-binary`` locates (or builds) the binary and prints its path;
``python -m harness.livekit_server --run`` runs a server in the foreground until Ctrl+C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from livekit import api

from harness.go_build import GoBuildError, go_install_with_progress
from harness.lifecycle import StartStop, read_log_tail, stop_process_group, track, untrack

SERVER_MODULE = "github.com/livekit/livekit-server/cmd/server"
SERVER_VERSION = "v1.13.5"
DEFAULT_API_KEY = "devkey"
DEFAULT_API_SECRET = "secret"  # noqa: S105 - livekit-server's public dev-mode secret
BINARY_ENV = "LIVEKIT_SERVER_BINARY"
LOOPBACK = "127.0.0.1"


class ServerStartError(RuntimeError):
    """The livekit-server binary could not be found/built, or the server did not come up."""


def _looks_like_livekit_server(path: Path) -> bool:
    """True when ``path`` is an executable that reports itself as livekit-server."""
    if not (path.is_file() and os.access(path, os.X_OK)):
        return False
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.startswith("livekit-server")


def _go_binary() -> str | None:
    found = shutil.which("go")
    if found:
        return found
    for candidate in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _gopath_bins(go: str | None) -> list[Path]:
    """Directories where ``go install`` puts binaries, most specific first."""
    dirs: list[Path] = []
    if os.environ.get("GOBIN"):
        dirs.append(Path(os.environ["GOBIN"]))
    for gopath in os.environ.get("GOPATH", "").split(os.pathsep):
        if gopath:
            dirs.append(Path(gopath) / "bin")
    if go is not None:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            out = subprocess.run(
                [go, "env", "GOBIN", "GOPATH"], capture_output=True, text=True, timeout=30, check=False
            ).stdout.splitlines()
            if out and out[0].strip():
                dirs.append(Path(out[0].strip()))
            if len(out) > 1 and out[1].strip():
                dirs.extend(Path(p) / "bin" for p in out[1].strip().split(os.pathsep) if p)
    dirs.append(Path.home() / "go" / "bin")
    return list(dict.fromkeys(dirs))


def find_server_binary() -> Path | None:
    """Locate livekit-server: ``$LIVEKIT_SERVER_BINARY``, ``livekit-server`` on PATH, then Go's bin dirs."""
    if os.environ.get(BINARY_ENV):
        explicit = Path(os.environ[BINARY_ENV])
        return explicit if _looks_like_livekit_server(explicit) else None
    on_path = shutil.which("livekit-server")
    if on_path and _looks_like_livekit_server(Path(on_path)):
        return Path(on_path)
    for directory in _gopath_bins(_go_binary()):
        for name in ("server", "livekit-server"):
            if _looks_like_livekit_server(directory / name):
                return directory / name
    return None


def ensure_server_binary(*, build: bool = True, build_timeout: float = 1800.0) -> Path:
    """Return the livekit-server binary, building it with ``go install`` when it is missing.

    Raises ServerStartError (with the reason) when it can be neither found nor built.
    """
    found = find_server_binary()
    if found is not None:
        return found
    if os.environ.get(BINARY_ENV):
        raise ServerStartError(f"${BINARY_ENV}={os.environ[BINARY_ENV]} is not a livekit-server binary")
    if not build:
        raise ServerStartError("livekit-server not found (PATH, $GOBIN, $GOPATH/bin, ~/go/bin)")
    go = _go_binary()
    if go is None:
        raise ServerStartError("livekit-server not found and no Go toolchain to build it (need go >= 1.26)")
    cmd = [go, "install", f"{SERVER_MODULE}@{SERVER_VERSION}"]
    try:
        go_install_with_progress(cmd, what=f"livekit-server {SERVER_VERSION}", timeout_s=build_timeout)
    except GoBuildError as exc:
        raise ServerStartError(str(exc)) from exc
    found = find_server_binary()
    if found is None:
        raise ServerStartError(f"{' '.join(cmd)} succeeded but no binary was found in Go's bin dirs")
    return found


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A currently free loopback port (TCP by default, ``socket.SOCK_DGRAM`` for UDP)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _free_port_both() -> int:
    """A loopback port free for both TCP and UDP."""
    for _ in range(50):
        port = free_port(socket.SOCK_DGRAM)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((LOOPBACK, port))
            except OSError:
                continue
        return port
    raise ServerStartError("no free loopback port found")


@dataclass(frozen=True)
class ServerPorts:
    """Ports of one server: signalling/HTTP (TCP), ICE over TCP (0 = off), ICE over UDP (single mux port)."""

    http: int
    rtc_tcp: int
    rtc_udp: int


def server_config(
    ports: ServerPorts,
    api_key: str,
    api_secret: str,
    log_level: str,
    rtc_overrides: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """The YAML config (JSON is valid YAML) for a loopback-only dev server.

    ``rtc_overrides`` replace keys of the ``rtc`` section (harness/links.py: advertise a relay, no ICE over TCP);
    ``extra`` adds top-level sections (e.g. ``redis``, ``webhook`` for a cluster node, see harness/cluster.py).
    """
    config = {
        "port": ports.http,
        "bind_addresses": [LOOPBACK],
        "rtc": {
            "tcp_port": ports.rtc_tcp,
            "udp_port": ports.rtc_udp,
            "node_ip": LOOPBACK,
            "use_external_ip": False,
            "enable_loopback_candidate": True,
            "ips": {"includes": [f"{LOOPBACK}/32"]},
            # nothing listens on this UDP port: it only replaces the public default STUN servers
            "stun_servers": [f"{LOOPBACK}:{ports.http}"],
        },
        "turn": {"enabled": False},
        # The server routes a dispatch only to workers whose reported CPU load is below target_load (0.7 by
        # default) and DROPS it otherwise (no retry). On a 2-core machine running server, workers and tests,
        # the load often passes 0.7: raise the bar so dispatches are not lost in tests.
        "agents": {"target_load": 100.0},
        "keys": {api_key: api_secret},
        "logging": {"level": log_level},
    }
    if rtc_overrides:
        config["rtc"] = {**cast("dict[str, Any]", config["rtc"]), **rtc_overrides}
    config.update(extra or {})
    return json.dumps(config)


class LiveKitServer(StartStop):
    """One livekit-server process in dev mode on loopback, started on free ports.

    ``start()``/``stop()`` are synchronous (so session-scoped pytest fixtures need no event loop);
    the object is also a sync and an async context manager.
    """

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        api_secret: str = DEFAULT_API_SECRET,
        binary: Path | None = None,
        log_path: Path | None = None,
        log_level: str = "info",
        startup_timeout: float = 30.0,
        rtc_overrides: Mapping[str, Any] | None = None,
        extra_config: Mapping[str, Any] | None = None,
    ) -> None:
        """``extra_config``: top-level config sections added to the dev config (``redis``, ``webhook``, ...)."""
        self._extra_config = dict(extra_config or {})
        self.api_key = api_key
        self.api_secret = api_secret
        self._binary = binary
        self._log_path = log_path
        self._log_level = log_level
        self._startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._ports: ServerPorts | None = None
        self._rtc_overrides = dict(rtc_overrides or {})

    @property
    def ports(self) -> ServerPorts:
        if self._ports is None:
            raise RuntimeError("server not started")
        return self._ports

    @property
    def url(self) -> str:
        """Signalling URL for rtc clients, workers and LiveKitAPI (``ws://127.0.0.1:PORT``)."""
        return f"ws://{LOOPBACK}:{self.ports.http}"

    @property
    def http_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports.http}"

    @property
    def log_path(self) -> Path:
        if self._log_path is None:
            raise RuntimeError("server not started")
        return self._log_path

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("server not started")
        return self._proc.pid

    def env(self) -> dict[str, str]:
        """LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET for child processes."""
        return {"LIVEKIT_URL": self.url, "LIVEKIT_API_KEY": self.api_key, "LIVEKIT_API_SECRET": self.api_secret}

    def log_tail(self, max_chars: int = 4000) -> str:
        """The end of this process's log (for error messages)."""
        return read_log_tail(self.log_path, max_chars)

    def start(self) -> None:
        """Start the server and wait until HTTP answers OK and RoomService.ListRooms succeeds."""
        if self._proc is not None:
            raise RuntimeError("server already started")
        binary = self._binary or ensure_server_binary()
        if self._log_path is None:
            fd, name = tempfile.mkstemp(prefix="livekit-server-", suffix=".log")
            os.close(fd)
            self._log_path = Path(name)
        last_error = ""
        for _attempt in range(3):  # a free port can be taken between picking and binding it
            self._ports = ServerPorts(http=_free_port_both(), rtc_tcp=0, rtc_udp=_free_port_both())  # 0: see module doc
            self._spawn(binary, self._ports)
            try:
                self._wait_ready()
                return
            except ServerStartError as exc:
                last_error = str(exc)
                self.stop()
        raise ServerStartError(f"livekit-server did not start: {last_error}\n--- log tail ---\n{self.log_tail()}")

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self._startup_timeout
        while True:
            code = self._proc.poll()
            if code is not None:
                raise ServerStartError(f"livekit-server exited with code {code}")
            if self._http_ok() and self._list_rooms_ok():
                return
            if time.monotonic() > deadline:
                raise ServerStartError(f"livekit-server not ready after {self._startup_timeout:.0f}s")
            time.sleep(0.1)  # polling interval of a readiness probe, not a synchronisation sleep

    def _http_ok(self) -> bool:
        try:
            with urllib.request.urlopen(self.http_url + "/", timeout=2) as resp:  # noqa: S310 - loopback http
                return bool(resp.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def _list_rooms_ok(self) -> bool:
        token = api.AccessToken(self.api_key, self.api_secret).with_grants(api.VideoGrants(room_list=True)).to_jwt()
        req = urllib.request.Request(  # noqa: S310 - loopback http
            self.http_url + "/twirp/livekit.RoomService/ListRooms",
            data=b"{}",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=2) as resp:  # noqa: S310 - loopback http
                return bool(resp.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def restart(self, timeout: float = 10.0) -> None:
        """Stop the server and start it again on the same ports and config, as a node restart does (clients
        reconnect to the same URL; rooms, participants and pending calls are lost: dev mode keeps no state)."""
        ports = self.ports
        self.stop(timeout)
        self._spawn(self._binary or ensure_server_binary(), ports)
        try:
            self._wait_ready()
        except ServerStartError as exc:
            self.stop()
            raise ServerStartError(
                f"livekit-server did not restart: {exc}\n--- log tail ---\n{self.log_tail()}"
            ) from None

    def _spawn(self, binary: Path, ports: ServerPorts) -> None:
        assert self._log_path is not None
        config = server_config(
            ports, self.api_key, self.api_secret, self._log_level, self._rtc_overrides, self._extra_config
        )
        with open(self._log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [str(binary), "--dev", "--bind", LOOPBACK, "--config-body", config],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() kills everything it started
            )
        track(self)  # stopped on SIGTERM/SIGINT too (harness/lifecycle.py)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the server's process group, SIGKILL it after ``timeout``; idempotent."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        stop_process_group(proc, timeout)
        untrack(self)


def main(argv: list[str] | None = None) -> int:
    """CLI: ``--ensure-binary`` prints the binary's path (building it if needed); ``--run`` serves."""
    parser = argparse.ArgumentParser(prog="python -m harness.livekit_server", description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--ensure-binary", action="store_true", help="locate or build livekit-server, print path")
    group.add_argument("--run", action="store_true", help="run a loopback dev server until interrupted")
    parser.add_argument("--no-build", action="store_true", help="with --ensure-binary: never run go install")
    args = parser.parse_args(argv)
    try:
        if args.ensure_binary:
            print(ensure_server_binary(build=not args.no_build))
            return 0
        server = LiveKitServer(log_path=Path(tempfile.gettempdir()) / "livekit-server-harness.log")
        with server:
            print(
                json.dumps(
                    {
                        "url": server.url,
                        "api_key": server.api_key,
                        "api_secret": server.api_secret,
                        "log": str(server.log_path),
                    }
                ),
                flush=True,
            )
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
        return 0
    except ServerStartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
