"""Spec §8, §10-§11, after an accepted request: the receipt token of the acknowledgement, the receipt a caller
sends, and the ``ending`` attributes.

Not verifier cases: a separate top-level ``after_acceptance`` object, checked by both implementations' tests
(which response texts are acknowledgements and what receipt each calls for; which payloads count as the receipt
for an acknowledgement's token, never its request id; which attributes an ending agent sets, and how a frontend
reads them back).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from shutdown_rpc.protocol import Acknowledgement, AckStatus
from shutdown_rpc.protocol.wire import (
    ATTR_ISSUER,
    ATTR_REASON,
    ATTR_REQUEST_ID,
    ATTR_STATE,
    RECEIPT_METHOD_NAME,
    Ending,
    ending_attributes,
    is_receipt_for,
    parse_ending,
)

RID = "AAAAAAAAAAAAAAAAAAAAAA"
STATE, REQUEST_ID, ISSUER, REASON = ATTR_STATE, ATTR_REQUEST_ID, ATTR_ISSUER, ATTR_REASON
RID_64 = "a" * 64
TOKEN = base64.urlsafe_b64encode(hashlib.sha256(b"receipt token 1").digest()[:16]).rstrip(b"=").decode()
TOKEN_64 = "Z-_9" * 16


def _receipt(token: str, payload: str, request_id: str = RID) -> dict[str, Any]:
    matches = is_receipt_for(payload, token)
    return {"receipt_token": token, "request_id": request_id, "payload": payload, "matches": matches}


def _ack(status: AckStatus, token: str | None, request_id: str = RID) -> Acknowledgement:
    return Acknowledgement(
        status=status,
        request_id=request_id,
        agent_identity="agent-AJ_1",
        job_id="AJ_1",
        agent_time_ms=1_800_000_000_000,
        receipt_token=token,
    )


def _acknowledgement(description: str, text: str) -> dict[str, Any]:
    try:
        ack = Acknowledgement.from_json(text)
    except ValueError:
        return {"description": description, "json": text, "valid": False, "receipt": None}
    return {"description": description, "json": text, "valid": True, "receipt": ack.receipt}


def _with(ack: Acknowledgement, **changes: Any) -> str:
    """``ack``'s JSON with keys changed (None removes one), for texts an agent would not write."""
    fields = json.loads(ack.to_json())
    for key, value in changes.items():
        if value is None:
            fields.pop(key, None)
        else:
            fields[key] = value
    return json.dumps(fields, separators=(",", ":"))


def _acknowledgements() -> list[dict[str, Any]]:
    accepted = _ack(AckStatus.ACCEPTED, TOKEN)
    shutting_down = _ack(AckStatus.ALREADY_SHUTTING_DOWN, None).to_json()
    bad_char = TOKEN[:-1] + "="
    token_null = _with(accepted, receipt_token=False).replace("false", "null")  # _with drops None values
    return [
        _acknowledgement("accepted: the receipt is the token", accepted.to_json()),
        _acknowledgement("duplicate: repeats the accepted token", accepted.as_duplicate().to_json()),
        _acknowledgement("64-character token", _ack(AckStatus.ACCEPTED, TOKEN_64).to_json()),
        _acknowledgement("already_shutting_down: no token, no receipt", shutting_down),
        _acknowledgement("accepted without a token (no receipt)", _ack(AckStatus.ACCEPTED, None).to_json()),
        _acknowledgement("an unknown key is ignored", _with(accepted, later_field=[1, 2])),
        _acknowledgement("token not a string: not an acknowledgement", _with(accepted, receipt_token=12345)),
        _acknowledgement("token null: not an acknowledgement", token_null),
        _acknowledgement("token of 21 characters: not an acknowledgement", _with(accepted, receipt_token=TOKEN[:21])),
        _acknowledgement("token of 65 characters: not an acknowledgement", _with(accepted, receipt_token="a" * 65)),
        _acknowledgement("token outside the alphabet: not an acknowledgement", _with(accepted, receipt_token=bad_char)),
    ]


def _ending(ending: Ending) -> dict[str, Any]:
    attributes = ending_attributes(ending)
    assert parse_ending(attributes) == ending
    return {
        "ending": {"request_id": ending.request_id, "issuer": ending.issuer, "reason": ending.reason},
        "attributes": attributes,
    }


def generate() -> dict[str, Any]:
    return {
        "receipt_method": RECEIPT_METHOD_NAME,
        "acknowledgements": _acknowledgements(),
        "receipts": [
            _receipt(TOKEN, TOKEN),
            _receipt(TOKEN_64, TOKEN_64),
            _receipt(TOKEN, RID),  # the request id, which the ending attributes publish: never a receipt
            _receipt(TOKEN, TOKEN[:-1] + ("A" if TOKEN[-1] != "A" else "B")),
            _receipt(TOKEN, TOKEN + " "),
            _receipt(TOKEN, " " + TOKEN),
            _receipt(TOKEN, TOKEN.lower()),
            _receipt(TOKEN, ""),
            _receipt(TOKEN_64 + "a", TOKEN_64 + "a"),  # 65 characters: never a token
            _receipt("AAAAAAAAAAAAAAAAAAAAA!", "AAAAAAAAAAAAAAAAAAAAA!"),  # not the token alphabet
            # ill-formed payloads never match, whatever they resemble (§11: bounded before any comparison)
            _receipt(TOKEN, "\u0410" + TOKEN[1:]),  # a Cyrillic A
            _receipt(TOKEN, TOKEN + "\n"),
            _receipt(TOKEN, TOKEN * 200),  # 4400 characters
        ],
        "ending_attributes": [
            _ending(Ending(RID, "billing-backend")),
            _ending(Ending(RID, "web-backend", "user hung up")),
            _ending(Ending(RID_64, "ops", "")),
        ],
        "not_ending": [
            {},
            {"shutdown_rpc.state": "listening", "shutdown_rpc.request_id": RID},
            {"shutdown_rpc.method": "shutdown_rpc.shutdown"},
            # "ending" without the request id and issuer a conforming agent sets in the same update, or with a
            # value that breaks its §4 rule: not an ending a frontend may explain or attribute (§10)
            {STATE: "ending"},
            {STATE: "ending", REQUEST_ID: RID},
            {STATE: "ending", ISSUER: "ops"},
            {STATE: "ending", REQUEST_ID: "", ISSUER: "ops"},
            {STATE: "ending", REQUEST_ID: "too-short", ISSUER: "ops"},
            {STATE: "ending", REQUEST_ID: RID, ISSUER: ""},
            {STATE: "ending", REQUEST_ID: RID, ISSUER: "billing [x]"},
            {STATE: "ending", REQUEST_ID: RID, ISSUER: "ops\u202e"},
            {STATE: "ending", REQUEST_ID: RID, ISSUER: "i" * 129},
            {STATE: "ending", REQUEST_ID: RID, ISSUER: "ops", REASON: "one\u2028two"},
            {STATE: "ending", REQUEST_ID: RID, ISSUER: "ops", REASON: "r" * 513},
        ],
    }
