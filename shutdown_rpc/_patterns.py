"""The one name-pattern rule of the package (spec §7.2): key scopes, unsigned-caller identities and the fleet's
room selection all match a name against an entry the same way, so an entry reads the same everywhere."""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=256)
def _compiled(entry: str) -> re.Pattern[str]:
    return re.compile(".*".join(map(re.escape, entry.split("*"))), re.DOTALL)


def matches(entry: str, value: str) -> bool:
    """Whether ``value`` matches ``entry``: literally, code point by code point, except that each ``*`` matches
    any run of characters (possibly empty). Nothing else is special (no ``?``, no ``[...]``, no escapes)."""
    if "*" not in entry:
        return entry == value
    return _compiled(entry).fullmatch(value) is not None
