"""The shared test vectors (vectors/v1.json), built one spec section per module.

``cases()`` concatenates the sections in file order; ``generate()`` computes each case's outcome with the
reference verifier (:mod:`.runner`, which the tests use too) and refuses a case whose outcome differs from the
one it was written to have. ``scripts/gen_vectors.py`` writes or checks the file.
"""

from __future__ import annotations

import json
from typing import Any

from shutdown_rpc.protocol import LIMITS, ErrorCode, KeyRing
from shutdown_rpc.protocol.wire import code_table

from . import accepted, after_acceptance, binding, body, envelope, hardening, patterns, signatures, timing, transport
from .builder import ED_1, HMAC_1, HMAC_2, OK_HMAC, RING_KEYS, Builder
from .runner import run_case

SECTIONS = (accepted, transport, envelope, signatures, body, timing, binding, hardening)
"""In the order their cases appear in the file (the order never changes: it would rewrite every vector)."""


def cases() -> list[dict[str, Any]]:
    """Every case, section by section."""
    v = Builder()
    for section in SECTIONS:
        section.add(v)
    assert v.cases[0]["payload"] == OK_HMAC, "OK_HMAC must be the first case's payload"
    return v.cases


def generate() -> dict[str, Any]:
    out_cases = []
    for case in cases():
        expect = case.pop("_expect")
        result = run_case(case, KeyRing(RING_KEYS), skew_s=30, max_lifetime_s=300)
        wanted = expect if isinstance(expect, str) else "refused"
        if result["outcome"] != wanted or (isinstance(expect, ErrorCode) and result["code"] != int(expect)):
            raise SystemExit(f"{case['name']}: meant {expect!r}, reference verifier says {result}")
        out_cases.append({**case, "expected": result})
    keys: list[dict[str, str]] = [
        {"key_id": HMAC_1.key_id, "algorithm": "hmac-sha256", "secret_hex": HMAC_1.secret.hex()},
        {"key_id": HMAC_2.key_id, "algorithm": "hmac-sha256", "secret_hex": HMAC_2.secret.hex()},
        {
            "key_id": ED_1.key_id,
            "algorithm": "ed25519",
            "seed_hex": ED_1.seed_bytes().hex(),
            "public_hex": ED_1.verifying_key().raw_public_bytes().hex(),
        },
    ]
    return {
        "spec_version": 1,
        "method": "shutdown_rpc.shutdown",
        "max_payload_bytes": 4096,
        "skew_s": 30,
        "max_lifetime_s": 300,
        "codes": code_table(),
        "limits": dict(LIMITS),
        "keys": keys,
        "cases": out_cases,
        "after_acceptance": after_acceptance.generate(),
        "key_scope_patterns": patterns.generate(),
    }


def render() -> str:
    return json.dumps(generate(), indent=1, ensure_ascii=True) + "\n"
