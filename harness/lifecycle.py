"""Context-manager plumbing for the harness's processes: anything with blocking ``start()`` and ``stop()``.

Cleanup on signals: every started harness object (server, worker) is tracked until it is stopped. The first
import of this module in the main thread installs SIGTERM/SIGINT handlers that stop every tracked object
(process groups killed, temporary files removed), then hand the signal on: to the previous Python handler
(SIGINT still raises KeyboardInterrupt) or, for the default action, by re-raising it with the default
disposition (the process dies of that signal, as it would have). ``atexit`` stops whatever is left on a normal
exit. Without this a benchmark killed by SIGTERM left its livekit-server running: the harness starts its
processes in their own sessions, so a signal to the parent never reaches them.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import subprocess
import threading
from pathlib import Path
from types import FrameType, TracebackType

from typing_extensions import Self


class StartStop:
    """``with``/``async with`` support for a class defining blocking ``start()`` and ``stop()``."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)


def read_log_tail(path: Path, max_chars: int) -> str:
    """The last ``max_chars`` characters of a process's log, "" if there is none (yet): for error messages."""
    try:
        return path.read_text(errors="replace")[-max_chars:]
    except (OSError, RuntimeError):
        return ""


def stop_process_group(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM ``proc``'s process group, SIGKILL it after ``timeout``; then SIGKILL whatever the group still holds
    (children may outlive their leader)."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


_tracked: dict[int, StartStop] = {}
_tracked_lock = threading.Lock()
_previous_handlers: dict[int, object] = {}


def track(obj: StartStop) -> None:
    """Stop ``obj`` if this process gets SIGTERM/SIGINT or exits before ``untrack(obj)``."""
    with _tracked_lock:
        _tracked[id(obj)] = obj


def untrack(obj: StartStop) -> None:
    """``obj`` has been stopped."""
    with _tracked_lock:
        _tracked.pop(id(obj), None)


def stop_all_tracked() -> None:
    """Stop every tracked object, the most recently started first (workers before their server)."""
    with _tracked_lock:
        live = list(_tracked.values())
    for obj in reversed(live):
        with contextlib.suppress(Exception):
            obj.stop()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    stop_all_tracked()
    previous = _previous_handlers.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)  # e.g. SIGINT's default_int_handler: KeyboardInterrupt as before
    elif previous != signal.SIG_IGN:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)  # die of the signal, as without the handler


def install_signal_cleanup() -> bool:
    """Install the SIGTERM/SIGINT cleanup handlers once; only possible from the main thread (False otherwise)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    for sig in (signal.SIGTERM, signal.SIGINT):
        current = signal.getsignal(sig)
        if current is _on_signal or current is None:  # None: a handler installed from C; leave it alone
            continue
        _previous_handlers[sig] = current
        signal.signal(sig, _on_signal)
    return True


atexit.register(stop_all_tracked)
install_signal_cleanup()
