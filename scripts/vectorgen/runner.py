"""Run shared vector cases (vectors/v1.json) against the Python implementation.

Used by the tests (tests/protocol/test_vectors.py) and by scripts/gen_vectors.py, which computes each case's
expected outcome with it (and checks that against the outcome the case was written to have).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from shutdown_rpc.protocol import (
    Acknowledgement,
    AckStatus,
    AgentBinding,
    DuplicateRequest,
    Ed25519VerifyingKey,
    HmacSha256Key,
    KeyRing,
    ShutdownRpcError,
    Verifier,
    VerifyingKey,
)
from shutdown_rpc.protocol.wire import FixedClock

VECTORS_PATH = Path(__file__).resolve().parents[2] / "vectors" / "v1.json"
"""The committed vectors file."""


def load_vectors() -> dict[str, Any]:
    """The committed vectors file."""
    data: dict[str, Any] = json.loads(VECTORS_PATH.read_text())
    return data


def key_ring(keys: Iterable[Mapping[str, str]]) -> KeyRing:
    """The verifier's key ring from the vectors' ``keys`` entries."""
    ring: list[VerifyingKey] = []
    for k in keys:
        if k["algorithm"] == "hmac-sha256":
            ring.append(HmacSha256Key(k["key_id"], bytes.fromhex(k["secret_hex"])))
        else:
            ring.append(Ed25519VerifyingKey.from_bytes(k["key_id"], bytes.fromhex(k["public_hex"])))
    return KeyRing(ring)


def run_case(case: Mapping[str, Any], ring: KeyRing, *, skew_s: int, max_lifetime_s: int) -> dict[str, Any]:
    """What this implementation answers for one case, in the vectors' ``expected`` shape."""
    clock = FixedClock(case["now_ms"])
    verifier = Verifier(ring, clock=clock, skew_s=skew_s, max_lifetime_s=max_lifetime_s)
    b = case["binding"]
    # A case's "binding" carries the agent's binding and the two verify options (steps 6 and 14).
    binding = AgentBinding(b["room"], b["agent_identity"], b["job_id"])

    def one(payload: str) -> dict[str, Any]:
        try:
            result = verifier.verify(
                payload, binding, allow_unsigned=b["allow_unsigned"], allow_any_agent=b["allow_any_agent"]
            )
        except ShutdownRpcError as err:
            return {"outcome": "refused", "code": int(err.code), "name": err.code.name}
        if isinstance(result, DuplicateRequest):
            return {"outcome": "duplicate", "ack": json.loads(result.ack.to_json())}
        ack = Acknowledgement(
            status=AckStatus.ACCEPTED,
            request_id=result.request.request_id,
            agent_identity=b["agent_identity"],
            job_id=b["job_id"],
            agent_time_ms=clock.now_ms(),
        )
        result.accept(ack)
        return {"outcome": "accepted", "request": result.request.wire_dict(), "ack": json.loads(ack.to_json())}

    for payload in case["prior"]:
        if one(payload)["outcome"] != "accepted":
            raise AssertionError(f"{case['name']}: a prior payload was not accepted")
    return one(case["payload"])
