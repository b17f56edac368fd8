"""The docs site as a reader meets it: built with ``mkdocs build --strict`` (a broken link or an API reference
that does not resolve fails), served on loopback, opened in Debian's headless Chromium (driven by playwright-core
from js/node_modules): every page renders with its title and no script error, and the search box finds
``enable_remote_shutdown``. A screenshot of the search result is saved; its path is printed. The API reference
documents exactly each public package's ``__all__``."""

from __future__ import annotations

import functools
import importlib
import json
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOT = REPO_ROOT / ".cache" / "docs-check" / "search.png"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "mkdocs"), "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=REPO_ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    return out


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()


def pages_of(site: Path) -> list[str]:
    """Every page of the site, as a path relative to its root (``guides/agent/`` for guides/agent/index.html)."""
    return sorted(
        str(page.parent.relative_to(site)) + "/" if page.parent != site else ""
        for page in site.rglob("index.html")
        if "assets" not in page.parts
    )


def test_every_page_renders_and_search_finds_enable_remote_shutdown(site: Path, served: str) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium", pytrace=False)
    pages = pages_of(site)
    assert {"", "quickstart/", "reference/agent_side/", "troubleshooting/", "spec/"} <= set(pages)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            "node",
            str(Path(__file__).with_name("site_check.mjs")),
            served,
            str(SCREENSHOT),
            "enable_remote_shutdown",
            *pages,
        ],
        env={**os.environ, "JS_DIR": str(REPO_ROOT / "js"), "CHROMIUM_PATH": CHROMIUM},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"docs site: {len(pages)} pages rendered; search screenshot: {SCREENSHOT}")

    assert result["errors"] == []
    for path in pages:
        assert result["pages"][path]["status"] == 200, path
        assert result["pages"][path]["h1"], f"{path} has no title"
    assert any("enable_remote_shutdown" in hit for hit in result["search"]), result["search"]
    assert SCREENSHOT.stat().st_size > 0


REFERENCE_PAGES = {
    "shutdown_rpc.protocol": "reference/protocol",
    "shutdown_rpc.protocol.wire": "reference/wire",
    "shutdown_rpc.agent_side": "reference/agent_side",
    "shutdown_rpc.client_side": "reference/client_side",
    "shutdown_rpc.client_side.fleet": "reference/fleet",
}


@pytest.mark.parametrize("package", REFERENCE_PAGES)
def test_the_api_reference_has_every_public_name_and_nothing_else(site: Path, package: str) -> None:
    public = set(importlib.import_module(package).__all__)
    html = (site / REFERENCE_PAGES[package] / "index.html").read_text()
    documented = set(re.findall(rf'id="{re.escape(package)}\.([A-Za-z_][A-Za-z0-9_]*)"', html))
    assert documented == public
