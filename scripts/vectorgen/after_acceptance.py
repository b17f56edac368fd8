"""Spec §10-§11, after an accepted request: the receipt a caller sends, and the ``ending`` attributes.

Not verifier cases: a separate top-level ``after_acceptance`` object, checked by both clients' tests (which
payloads count as the receipt of which request id; which attributes an ending agent sets, and how a frontend
reads them back).
"""

from __future__ import annotations

from typing import Any

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


def _receipt(request_id: str, payload: str) -> dict[str, Any]:
    return {"request_id": request_id, "payload": payload, "matches": is_receipt_for(payload, request_id)}


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
        "receipts": [
            _receipt(RID, RID),
            _receipt(RID_64, RID_64),
            _receipt(RID, RID[:-1] + "B"),
            _receipt(RID, RID + " "),
            _receipt(RID, " " + RID),
            _receipt(RID, ""),
            _receipt(RID_64 + "a", RID_64 + "a"),  # 65 characters: never a request id
            _receipt("AAAAAAAAAAAAAAAAAAAAA!", "AAAAAAAAAAAAAAAAAAAAA!"),  # not the request-id alphabet
            # ill-formed payloads never match, whatever they resemble (§11: bounded before any comparison)
            _receipt(RID, RID.lower()),
            _receipt(RID, "\u0410" + RID[1:]),  # a Cyrillic A
            _receipt(RID, RID + "\n"),
            _receipt(RID, RID * 187),  # 4114 characters
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
