"""Spec §10-§11, after an accepted request: the receipt a caller sends, and the ``ending`` attributes.

Not verifier cases: a separate top-level ``after_acceptance`` object, checked by both clients' tests (which
payloads count as the receipt of which request id; which attributes an ending agent sets, and how a frontend
reads them back).
"""

from __future__ import annotations

from typing import Any

from shutdown_rpc.protocol.wire import RECEIPT_METHOD_NAME, Ending, ending_attributes, is_receipt_for, parse_ending

RID = "AAAAAAAAAAAAAAAAAAAAAA"
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
        ],
    }
