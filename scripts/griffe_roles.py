"""A griffe extension for the API reference: the docstrings use Sphinx roles (:func:`x`, :class:`x`, :data:`x`)
and reST literals (``x``); Markdown renders them as `x`. Nothing else in a docstring changes."""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj|const):`~?([^`]+)`")
LITERAL = re.compile(r"``([^`]+)``")


class SphinxRolesToMarkdown(griffe.Extension):
    """Rewrite Sphinx roles and reST double-backtick literals of every docstring as Markdown code spans."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = LITERAL.sub(r"`\1`", ROLE.sub(r"`\1`", obj.docstring.value))
