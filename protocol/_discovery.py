"""How an agent advertises the shutdown method in its participant attributes, and how callers read that."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ._envelope import METHOD_NAME, SUPPORTED_VERSIONS

ATTRIBUTE_PREFIX = "shutdown_rpc."
ATTR_METHOD = ATTRIBUTE_PREFIX + "method"
ATTR_VERSIONS = ATTRIBUTE_PREFIX + "versions"
ATTR_KEY_IDS = ATTRIBUTE_PREFIX + "key_ids"


@dataclass(frozen=True)
class Advertisement:
    """What an agent says it accepts."""

    method: str
    versions: tuple[int, ...]
    key_ids: tuple[str, ...]


def advertisement_attributes(key_ids: Iterable[str], versions: Iterable[int] = SUPPORTED_VERSIONS) -> dict[str, str]:
    """Participant attributes an agent sets: method name, comma-separated versions and key ids."""
    return {
        ATTR_METHOD: METHOD_NAME,
        ATTR_VERSIONS: ",".join(str(v) for v in versions),
        ATTR_KEY_IDS: ",".join(key_ids),
    }


def parse_advertisement(attributes: Mapping[str, str]) -> Advertisement | None:
    """The advertisement in a participant's attributes, or None if it has none (or a malformed one)."""
    method = attributes.get(ATTR_METHOD)
    if not method:
        return None
    try:
        versions = tuple(int(v) for v in attributes.get(ATTR_VERSIONS, "").split(",") if v)
    except ValueError:
        return None
    key_ids = tuple(k for k in attributes.get(ATTR_KEY_IDS, "").split(",") if k)
    return Advertisement(method, versions, key_ids)
