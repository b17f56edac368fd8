"""Run ``go install -v`` with a progress line on stderr, so a first setup that builds livekit-server (about four
minutes on 2 cores, silent before) shows that it is working and how far it got.

``-v`` makes Go print each package it compiles and each module it downloads; those lines are counted, and one
progress line is printed every ``every_s`` seconds (and when Go moves from downloading to compiling). On
failure the last lines of Go's output are returned in the error, as before.
"""

from __future__ import annotations

import collections
import subprocess
import sys
import threading
import time
from typing import TextIO


class GoBuildError(RuntimeError):
    """``go install`` failed or timed out; the message ends with the tail of Go's output."""


def go_install_with_progress(
    cmd: list[str], *, what: str, timeout_s: float, every_s: float = 15.0, out: TextIO = sys.stderr
) -> None:
    """Run ``cmd`` (a ``go install`` command; ``-v`` is added) and report progress on ``out``."""
    argv = [cmd[0], cmd[1], "-v", *cmd[2:]] if "-v" not in cmd else cmd
    started = time.monotonic()
    print(f"    building {what} with Go (first run only; about 4 min on 2 cores)", file=out, flush=True)
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    tail: collections.deque[str] = collections.deque(maxlen=60)
    counts = {"downloaded": 0, "compiled": 0}

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            tail.append(line)
            counts["downloaded" if line.startswith("go: downloading") else "compiled"] += 1

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    last_report = started
    while proc.poll() is None:
        now = time.monotonic()
        if now - started > timeout_s:
            proc.kill()
            proc.wait()
            raise GoBuildError(f"{' '.join(argv)} timed out after {timeout_s:.0f}s")
        if now - last_report >= every_s:
            last_report = now
            print(
                f"    ... {now - started:4.0f} s: {counts['downloaded']} modules downloaded,"
                f" {counts['compiled']} packages compiled",
                file=out,
                flush=True,
            )
        time.sleep(0.5)  # progress-report tick, not a synchronisation
    reader.join(timeout=5)
    if proc.returncode != 0:
        raise GoBuildError(f"{' '.join(argv)} failed ({proc.returncode}):\n{''.join(tail)[-4000:]}")
    print(
        f"    built {what} in {time.monotonic() - started:.0f} s ({counts['compiled']} packages)", file=out, flush=True
    )
