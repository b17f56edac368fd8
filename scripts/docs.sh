#!/usr/bin/env bash
# The docs site (mkdocs.yml, pages under docs/, API reference from the docstrings by mkdocstrings) built with
# --strict into site/: a broken link, a missing page or an API reference that does not resolve fails the build.
# Then tests/docs/test_site.py opens the built site in headless Chromium (pages render, search finds
# enable_remote_shutdown) and saves a screenshot. Open site/index.html, or `.venv/bin/mkdocs serve` while writing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export NO_MKDOCS_2_WARNING=1  # mkdocs-material's banner about its successor, printed on every build
start=$SECONDS
.venv/bin/mkdocs build --strict --quiet --site-dir site
echo "docs: $(find site -name '*.html' | wc -l) pages in site/, built in $((SECONDS - start)) s"
.venv/bin/python -m pytest -p no:cacheprovider -q tests/docs
