"""mkdocs hook: a page line ``--8<-- "spec.md"`` includes that file of the repository root as it is (spec.md and
CHANGELOG.md are kept once, at the root). Links in it to repository files that are not part of the site
(``vectors/v1.json``) become their text, so the strict build has no dangling link."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
INCLUDE = re.compile(r'^--8<-- "(?P<path>[A-Za-z0-9_.-]+\.md)"$', re.MULTILINE)
# a Markdown link to a relative path that is not a page: [text](vectors/v1.json)
REPOSITORY_FILE_LINK = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<target>(?:vectors|js|scripts|fuzz|bench)/[^)#\s]+)\)")


def _included(match: re.Match[str]) -> str:
    text = (REPO_ROOT / match.group("path")).read_text(encoding="utf-8")
    return REPOSITORY_FILE_LINK.sub(lambda link: link.group("text"), text)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Expand the root-file includes of a page."""
    return INCLUDE.sub(_included, markdown)
