"""The progress reporting around ``go install`` (harness/go_build.py), with a stand-in ``go`` that prints what
``go install -v`` prints: download lines, then one line per compiled package."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from harness.go_build import GoBuildError, go_install_with_progress

FAKE_GO = f"""#!{sys.executable}
import sys, time
assert sys.argv[1:3] == ["install", "-v"], sys.argv
for line in ["go: downloading example.test/a v1.0.0", "example.test/a/x", "example.test/a/y", "example.test/cmd"]:
    print(line, file=sys.stderr, flush=True)
time.sleep(1.2)  # a build that takes a moment: long enough for the 0.5 s progress tick to report at least once
sys.exit(int(sys.argv[-1]))
"""


def fake_go(tmp_path: Path) -> list[str]:
    script = tmp_path / "go"
    script.write_text(FAKE_GO)
    script.chmod(0o755)
    return [str(script)]


def test_progress_lines_count_downloads_and_packages(tmp_path: Path) -> None:
    out = io.StringIO()
    go_install_with_progress([*fake_go(tmp_path), "install", "0"], what="thing", timeout_s=60, every_s=0, out=out)
    lines = out.getvalue().splitlines()
    assert lines[0].strip().startswith("building thing with Go")
    assert any("1 modules downloaded, 3 packages compiled" in line for line in lines[1:-1]), lines
    assert lines[-1].strip().startswith("built thing in") and lines[-1].endswith("(3 packages)")


def test_failure_carries_the_tail_of_gos_output(tmp_path: Path) -> None:
    with pytest.raises(GoBuildError, match=r"failed \(3\):\n(.|\n)*example.test/cmd"):
        go_install_with_progress([*fake_go(tmp_path), "install", "3"], what="thing", timeout_s=60, out=io.StringIO())
