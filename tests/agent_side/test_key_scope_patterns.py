"""vectors/v1.json ``key_scope_patterns`` (spec §7.2): the one matching rule of key-scope entries and unsigned
identities (literal, ``*`` the only wildcard), as the JS tests check it too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shutdown_rpc.agent_side import UnsignedCallers
from shutdown_rpc.agent_side._policy import scope_matches
from tests.agent_side.fakes import FakeParticipant

VECTORS: dict[str, Any] = json.loads((Path(__file__).resolve().parents[2] / "vectors" / "v1.json").read_text())


def cases() -> list[dict[str, Any]]:
    found = VECTORS.get("key_scope_patterns")
    assert found, "vectors/v1.json has no key_scope_patterns"
    return list(found)


def case_id(case: dict[str, Any]) -> str:
    return f"{case['entry']!r}~{case['value']!r}"[:40]


@pytest.mark.parametrize("case", cases(), ids=case_id)
def test_key_scope_entries(case: dict[str, Any]) -> None:
    assert scope_matches(case["entry"], case["value"]) is case["matches"]


@pytest.mark.parametrize("case", [c for c in cases() if c["value"]], ids=case_id)
def test_unsigned_identities_follow_the_same_rule(case: dict[str, Any]) -> None:
    rule = UnsignedCallers(identities=frozenset({case["entry"]}))
    assert rule.allows(FakeParticipant(case["value"])) is case["matches"]
