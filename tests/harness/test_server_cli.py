"""The harness CLI that setup.sh and CI call to locate (or build) livekit-server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ensure_binary_prints_an_executable_livekit_server() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness.livekit_server", "--ensure-binary"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip())
    assert path.is_file(), f"not a file: {done.stdout!r}"
    version = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and "1.13" in version.stdout + version.stderr
