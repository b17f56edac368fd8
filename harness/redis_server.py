"""Run a real ``redis-server`` (Debian's package) on a free loopback port with a throwaway data directory.

The livekit-server nodes of a cluster share it (``redis:`` section of their config). Nothing is persisted: no
RDB snapshots, no AOF, and the data directory is deleted on stop. :meth:`RedisServer.command` speaks just
enough RESP to read what the nodes store (e.g. ``HGET room_node_map <room>``), so tests need no Redis client.

Usage::

    with RedisServer() as redis:
        print(redis.address)  # "127.0.0.1:PORT"
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from harness.lifecycle import StartStop, read_log_tail, stop_process_group
from harness.livekit_server import LOOPBACK, free_port

REDIS_BINARY_ENV = "REDIS_SERVER_BINARY"

RespValue = str | int | list["RespValue"] | None


class RedisStartError(RuntimeError):
    """redis-server is missing or did not come up."""


def find_redis_binary() -> Path:
    """``$REDIS_SERVER_BINARY`` or ``redis-server`` on PATH (Debian: /usr/bin); RedisStartError otherwise."""
    explicit = os.environ.get(REDIS_BINARY_ENV)
    found = explicit or shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.access(found, os.X_OK):
        raise RedisStartError(
            f"redis-server not found ({explicit or 'PATH, /usr/bin'}): scripts/setup.sh installs Debian's redis-server"
        )
    return Path(found)


class RedisServer(StartStop):
    """One redis-server process on ``127.0.0.1:<free port>``, data in a temporary directory removed on stop."""

    def __init__(self, *, binary: Path | None = None, startup_timeout: float = 20.0) -> None:
        self._binary = binary
        self._startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None
        self.port = 0

    @property
    def address(self) -> str:
        """``host:port`` as livekit-server's ``redis.address`` wants it."""
        if self._proc is None:
            raise RuntimeError("redis not started")
        return f"{LOOPBACK}:{self.port}"

    @property
    def log_path(self) -> Path:
        if self._dir is None:
            raise RuntimeError("redis not started")
        return self._dir / "redis.log"

    def log_tail(self, max_chars: int = 3000) -> str:
        """The end of this process's log (for error messages)."""
        return read_log_tail(self.log_path, max_chars)

    def start(self) -> None:
        """Start redis-server and wait until it answers PING."""
        if self._proc is not None:
            raise RuntimeError("redis already started")
        binary = self._binary or find_redis_binary()
        self._dir = Path(tempfile.mkdtemp(prefix="harness-redis-"))
        last = ""
        for _attempt in range(3):  # a free port can be taken between picking and binding it
            self.port = free_port()
            args = [
                str(binary),
                "--bind", LOOPBACK,
                "--port", str(self.port),
                "--dir", str(self._dir),
                "--save", "",
                "--appendonly", "no",
                "--protected-mode", "yes",
                "--logfile", str(self.log_path),
            ]  # fmt: skip
            self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                self._wait_ready()
                return
            except RedisStartError as exc:
                last = str(exc)
                self._stop_process()
        log = self.log_tail()
        self.stop()
        raise RedisStartError(f"redis-server did not start: {last}\n--- log tail ---\n{log}")

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self._startup_timeout
        while True:
            code = self._proc.poll()
            if code is not None:
                raise RedisStartError(f"redis-server exited with code {code}")
            try:
                if self.command("PING") == "PONG":
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RedisStartError(f"redis-server not answering after {self._startup_timeout:.0f}s")
            time.sleep(0.05)  # polling interval of a readiness probe

    def command(self, *args: str, timeout: float = 5.0) -> RespValue:
        """Send one command, return the decoded reply (RESP2). Raises RuntimeError on an error reply."""
        request = f"*{len(args)}\r\n".encode() + b"".join(
            f"${len(a.encode())}\r\n".encode() + a.encode() + b"\r\n" for a in args
        )
        with socket.create_connection((LOOPBACK, self.port), timeout=timeout) as sock:
            sock.sendall(request)
            reader = sock.makefile("rb")
            return _read_reply(reader)

    def _stop_process(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_process_group(proc, 5.0)

    def stop(self) -> None:
        """Stop redis-server and delete its data directory; idempotent."""
        self._stop_process()
        directory, self._dir = self._dir, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)


def _read_reply(reader: BinaryIO) -> RespValue:
    line = reader.readline()
    if not line:
        raise OSError("redis closed the connection")
    kind, rest = line[:1], line[1:-2].decode()
    if kind == b"+":
        return rest
    if kind == b"-":
        raise RuntimeError(f"redis error: {rest}")
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        if size < 0:
            return None
        data = reader.read(size + 2)
        return data[:-2].decode(errors="replace")
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [_read_reply(reader) for _ in range(count)]
    raise OSError(f"unexpected redis reply {line!r}")
