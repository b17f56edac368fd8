"""After an accepted request (spec §10, §11): the receipt method a caller calls, and the attributes that tell the
room an agent is ending. Pure functions, no I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ._discovery import ATTRIBUTE_PREFIX
from ._schema import REQUEST_ID_PATTERN, is_issuer, is_reason

RECEIPT_METHOD_NAME = "shutdown_rpc.received"
"""RPC method of the receipt: a caller that holds an ``accepted`` or ``duplicate`` acknowledgement sends its
``receipt_token`` there, so the agent can leave at once instead of waiting out its reply-flush bound."""

ATTR_STATE = ATTRIBUTE_PREFIX + "state"
ATTR_REQUEST_ID = ATTRIBUTE_PREFIX + "request_id"
ATTR_ISSUER = ATTRIBUTE_PREFIX + "issuer"
ATTR_REASON = ATTRIBUTE_PREFIX + "reason"
STATE_ENDING = "ending"

_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)


@dataclass(frozen=True)
class Ending:
    """What an ending agent tells the room: the request ending it, who sent it, and the reason if shown."""

    request_id: str
    issuer: str
    reason: str | None = None


def ending_attributes(ending: Ending) -> dict[str, str]:
    """Participant attributes an agent sets once it accepted a request (``reason`` only where shown)."""
    attributes = {ATTR_STATE: STATE_ENDING, ATTR_REQUEST_ID: ending.request_id, ATTR_ISSUER: ending.issuer}
    if ending.reason is not None:
        attributes[ATTR_REASON] = ending.reason
    return attributes


def parse_ending(attributes: Mapping[str, str]) -> Ending | None:
    """The agent's ending state from its attributes, or None while it is not ending.

    Also None when ``state`` is ``ending`` but the request id or the issuer is missing, or a value breaks its
    §4 rule (spec §10): a conforming agent sets them all in one update, so such attributes explain nothing
    and name no one.
    """
    if attributes.get(ATTR_STATE) != STATE_ENDING:
        return None
    request_id = attributes.get(ATTR_REQUEST_ID)
    issuer = attributes.get(ATTR_ISSUER)
    reason = attributes.get(ATTR_REASON)
    if request_id is None or issuer is None or not _REQUEST_ID.fullmatch(request_id) or not is_issuer(issuer):
        return None
    if reason is not None and not is_reason(reason):
        return None
    return Ending(request_id, issuer, reason)
