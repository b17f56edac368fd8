"""One version, one license, everywhere they are written: the Python package (shutdown_rpc.__version__, the
only source; pyproject reads it), the JS package and its lockfile, the changelog, the LICENSE files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import shutdown_rpc

ROOT = Path(__file__).resolve().parents[2]


def test_js_package_version_is_the_python_version() -> None:
    package = json.loads((ROOT / "js" / "package.json").read_text())
    lock = json.loads((ROOT / "js" / "package-lock.json").read_text())
    assert package["version"] == shutdown_rpc.__version__
    assert lock["version"] == lock["packages"][""]["version"] == shutdown_rpc.__version__


def pyproject_lines(table: str = "project") -> list[str]:
    """The lines of one table of pyproject.toml (read as text: tomllib is not in Python 3.10, which we support)."""
    lines = (ROOT / "pyproject.toml").read_text().splitlines()
    start = lines.index(f"[{table}]") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines))
    return lines[start:end]


def test_pyproject_takes_its_version_from_the_package() -> None:
    lines = pyproject_lines()
    assert not any(re.match(r"version\s*=", line) for line in lines)  # no second version source
    assert any(re.match(r'dynamic = \["version"\]', line) for line in lines)
    assert 'version = { attr = "shutdown_rpc.__version__" }' in pyproject_lines("tool.setuptools.dynamic")
    assert re.fullmatch(r"\d+\.\d+\.\d+", shutdown_rpc.__version__)


def test_changelog_has_the_version_and_keeps_the_wire_version_apart() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## {re.escape(shutdown_rpc.__version__)}\b", changelog, re.MULTILINE)
    assert "### Wire protocol (v1)" in changelog


def test_one_license_text_and_expression() -> None:
    license_text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert "END OF TERMS AND CONDITIONS" in license_text  # the full text, not a stub
    assert (ROOT / "js" / "LICENSE").read_text() == license_text
    lines = pyproject_lines()
    assert 'license = "Apache-2.0"' in lines and 'license-files = ["LICENSE"]' in lines
    assert json.loads((ROOT / "js" / "package.json").read_text())["license"] == "Apache-2.0"
