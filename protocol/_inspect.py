"""What a payload holds, layer by layer, for tools (``shutdown-rpc inspect``): no verification, no key needed.

The verdict an agent would give comes from :class:`Verifier` alone; this only shows what was sent, stopping at
the first layer that does not decode (with the refusal that layer earns).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from ._envelope import Envelope, unpack_envelope, unpack_strict
from ._errors import ShutdownRpcError
from ._schema import ShutdownRequest


@dataclass(frozen=True)
class PayloadInspection:
    """The layers of one payload that decoded. ``error`` is the refusal of the first layer that did not.

    - ``envelope``: the v1 envelope (None if the payload is not one);
    - ``body``: the decoded body msgpack value (None if the envelope did not decode, or the body did not);
    - ``request``: the body as a valid v1 request (None if it is not one: the verifier names the rule).
    """

    envelope: Envelope | None
    body: object | None
    request: ShutdownRequest | None
    error: ShutdownRpcError | None


def inspect_payload(payload: str) -> PayloadInspection:
    """Decode ``payload`` as far as it goes: envelope, body, request. Never raises ShutdownRpcError."""
    try:
        envelope = unpack_envelope(payload)
    except ShutdownRpcError as error:
        return PayloadInspection(None, None, None, error)
    try:
        body = unpack_strict(envelope.body)
    except ShutdownRpcError as error:
        return PayloadInspection(envelope, None, None, error)
    request = None
    if isinstance(body, dict):
        try:
            request = ShutdownRequest.model_validate(body)
        except ValidationError:
            request = None
    return PayloadInspection(envelope, body, request, None)
