"""Issue 19: what the CI log says. scripts/test.sh names each phase with its duration (and the failing one), and
the protocol benchmark says "slower" when it is slower."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from bench.bench_protocol import compared

REPO_ROOT = Path(__file__).resolve().parents[2]


def _run_phases(body: str) -> subprocess.CompletedProcess[str]:
    script = f"set -euo pipefail\nsource {REPO_ROOT / 'scripts' / 'phases.sh'}\n{body}\n"
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, check=False)


def test_each_phase_is_printed_with_its_duration_and_the_total_at_the_end() -> None:
    done = _run_phases('phase "lint"\ntrue\nphase "types"\ntrue')
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "==> lint" and re.fullmatch(r"<== lint: \d+ s", lines[1])
    assert lines[2] == "==> types" and re.fullmatch(r"<== types: \d+ s", lines[3])
    assert re.fullmatch(r"==> passed after \d+ s", lines[4]) and len(lines) == 5


def test_a_failing_phase_is_closed_and_the_suite_says_failed() -> None:
    done = _run_phases('phase "vectors"\nfalse\nphase "never"')
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == "==> vectors" and re.fullmatch(r"<== vectors: \d+ s", lines[1])
    assert re.fullmatch(r"==> FAILED \(exit 1\) after \d+ s", lines[2]) and "never" not in done.stdout


def test_a_slower_path_is_called_slower() -> None:
    # issue 19: the smoke run printed "0.84x faster" for a path that was slower than the anchor
    assert compared(1.25) == "is 1.25x faster than"
    assert compared(0.84) == "is 1.19x slower than"
    assert compared(1.0) == "is 1.00x faster than"
