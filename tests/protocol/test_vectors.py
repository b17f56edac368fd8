"""The committed vectors are current, numerous enough, and every case passes."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from scripts.vectorgen.runner import key_ring, load_vectors, run_case
from shutdown_rpc.protocol import Ed25519SigningKey, ErrorCode, HmacSha256Key, ShutdownRequest, sign_request
from shutdown_rpc.protocol.wire import encode_body, seal

ROOT = Path(__file__).resolve().parents[2]
VECTORS = load_vectors()
RING = key_ring(VECTORS["keys"])
CASES: list[dict[str, Any]] = VECTORS["cases"]


def test_committed_vectors_match_generator() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_vectors.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_vectors_cover_the_spec() -> None:
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    assert len(CASES) >= 40
    outcomes = Counter(c["expected"]["outcome"] for c in CASES)
    assert outcomes["accepted"] >= 10 and outcomes["duplicate"] >= 1
    codes = {c["expected"]["code"] for c in CASES if c["expected"]["outcome"] == "refused"}
    wire_codes = set(ErrorCode) - {ErrorCode.VETOED, ErrorCode.RATE_LIMITED, ErrorCode.INTERNAL_ERROR}
    assert codes == {int(c) for c in wire_codes}, "every code a verifier alone can give has a vector"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    assert run_case(case, RING, skew_s=VECTORS["skew_s"], max_lifetime_s=VECTORS["max_lifetime_s"]) == case["expected"]


def _signing_key(key_id: str) -> HmacSha256Key | Ed25519SigningKey:
    for k in VECTORS["keys"]:
        if k["key_id"] == key_id:
            if k["algorithm"] == "hmac-sha256":
                return HmacSha256Key(key_id, bytes.fromhex(k["secret_hex"]))
            return Ed25519SigningKey.from_seed(key_id, bytes.fromhex(k["seed_hex"]))
    raise KeyError(key_id)


@pytest.mark.parametrize("case", [c for c in CASES if "build" in c], ids=lambda c: c["name"])
def test_producer_is_byte_identical(case: dict[str, Any]) -> None:
    request = ShutdownRequest.model_validate(case["build"]["request"])
    key_id = case["build"]["key_id"]
    payload = seal(encode_body(request), None) if key_id is None else sign_request(request, _signing_key(key_id))
    assert payload == case["payload"]
