"""vectors/v1.json ``after_acceptance`` (spec §8, §10-§11): the acknowledgement's receipt token, the receipt and
the ``ending`` attributes, as the JS client's tests check them too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shutdown_rpc.protocol import Acknowledgement
from shutdown_rpc.protocol.wire import (
    RECEIPT_METHOD_NAME,
    Ending,
    ending_attributes,
    is_receipt_for,
    is_receipt_token,
    new_receipt_token,
    parse_ending,
)

VECTORS: dict[str, Any] = json.loads((Path(__file__).resolve().parents[2] / "vectors" / "v1.json").read_text())
AFTER = VECTORS["after_acceptance"]


def test_receipt_method() -> None:
    assert AFTER["receipt_method"] == RECEIPT_METHOD_NAME == "shutdown_rpc.received"


@pytest.mark.parametrize("case", AFTER["receipts"], ids=lambda c: repr(c["payload"])[:30])
def test_receipts(case: dict[str, Any]) -> None:
    assert is_receipt_for(case["payload"], case["receipt_token"]) is case["matches"]


@pytest.mark.parametrize("case", AFTER["acknowledgements"], ids=lambda c: c["description"])
def test_acknowledgements(case: dict[str, Any]) -> None:
    if not case["valid"]:
        with pytest.raises(ValueError):
            Acknowledgement.from_json(case["json"])
        return
    ack = Acknowledgement.from_json(case["json"])
    assert ack.receipt == case["receipt"]
    if "later_field" not in case["json"]:
        assert ack.to_json() == case["json"]  # what an agent writes, byte for byte


def test_the_token_never_shows_in_repr() -> None:
    token = new_receipt_token()
    assert is_receipt_token(token) and len(token) == 22
    ack = Acknowledgement.from_json(AFTER["acknowledgements"][0]["json"]).model_copy(update={"receipt_token": token})
    assert token not in repr(ack) and token not in str(ack)


def test_tokens_are_fresh() -> None:
    assert len({new_receipt_token() for _ in range(1000)}) == 1000


@pytest.mark.parametrize("case", AFTER["ending_attributes"], ids=lambda c: c["ending"]["issuer"])
def test_ending_attributes(case: dict[str, Any]) -> None:
    ending = Ending(**case["ending"])
    assert ending_attributes(ending) == case["attributes"]
    assert parse_ending(case["attributes"]) == ending


@pytest.mark.parametrize("attributes", AFTER["not_ending"])
def test_not_ending(attributes: dict[str, str]) -> None:
    assert parse_ending(attributes) is None
