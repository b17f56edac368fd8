"""One version, one license, everywhere they are written: the Python package (shutdown_rpc.__version__, the
only source; pyproject reads it), the JS package and its lockfile, the changelog, the LICENSE files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import tomllib

import shutdown_rpc

ROOT = Path(__file__).resolve().parents[2]


def test_js_package_version_is_the_python_version() -> None:
    package = json.loads((ROOT / "js" / "package.json").read_text())
    lock = json.loads((ROOT / "js" / "package-lock.json").read_text())
    assert package["version"] == shutdown_rpc.__version__
    assert lock["version"] == lock["packages"][""]["version"] == shutdown_rpc.__version__


def test_pyproject_takes_its_version_from_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "shutdown_rpc.__version__"}
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
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    assert json.loads((ROOT / "js" / "package.json").read_text())["license"] == "Apache-2.0"
