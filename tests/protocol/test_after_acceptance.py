"""vectors/v1.json ``after_acceptance`` (spec §10-§11): the receipt and the ``ending`` attributes, as the JS
client's tests check them too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shutdown_rpc.protocol.wire import RECEIPT_METHOD_NAME, Ending, ending_attributes, is_receipt_for, parse_ending

VECTORS: dict[str, Any] = json.loads((Path(__file__).resolve().parents[2] / "vectors" / "v1.json").read_text())
AFTER = VECTORS["after_acceptance"]


def test_receipt_method() -> None:
    assert AFTER["receipt_method"] == RECEIPT_METHOD_NAME == "shutdown_rpc.received"


@pytest.mark.parametrize("case", AFTER["receipts"], ids=lambda c: repr(c["payload"])[:30])
def test_receipts(case: dict[str, Any]) -> None:
    assert is_receipt_for(case["payload"], case["request_id"]) is case["matches"]


@pytest.mark.parametrize("case", AFTER["ending_attributes"], ids=lambda c: c["ending"]["issuer"])
def test_ending_attributes(case: dict[str, Any]) -> None:
    ending = Ending(**case["ending"])
    assert ending_attributes(ending) == case["attributes"]
    assert parse_ending(case["attributes"]) == ending


@pytest.mark.parametrize("attributes", AFTER["not_ending"])
def test_not_ending(attributes: dict[str, str]) -> None:
    assert parse_ending(attributes) is None
