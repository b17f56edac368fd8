"""What every section of the vectors is built from: the fixed keys, clock and request ids, the body helper,
and the Builder that records each case with the outcome it is meant to have."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import msgpack

from shutdown_rpc.protocol import (
    Ed25519SigningKey,
    ErrorCode,
    HmacSha256Key,
    ShutdownRequest,
    VerifyingKey,
    sign_request,
)
from shutdown_rpc.protocol.wire import encode_body, seal

HMAC_1 = HmacSha256Key("hmac-1", hashlib.sha256(b"vector key hmac-1").digest())
HMAC_2 = HmacSha256Key("hmac-2", hashlib.sha256(b"vector key hmac-2").digest() * 2)
ED_1 = Ed25519SigningKey.from_seed("ed-1", hashlib.sha256(b"vector key ed-1").digest())
ROGUE = HmacSha256Key("rogue-1", hashlib.sha256(b"a key the agent does not have").digest())
RING_KEYS: list[VerifyingKey] = [HMAC_1, HMAC_2, ED_1.verifying_key()]

IAT = 1_800_000_000
NOW_MS = IAT * 1000 + 5_000
ROOM = "support-room-42"
AGENT = "agent-AJ_vector1"
JOB = "AJ_vector1"
BINDING = {"room": ROOM, "agent_identity": AGENT, "job_id": JOB, "allow_any_agent": False, "allow_unsigned": False}


def rid(n: int) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(f"request {n}".encode()).digest()[:16]).rstrip(b"=").decode()


def body(n: int, **changes: Any) -> dict[str, Any]:
    """A valid body map (spec field order) with ``changes`` applied; a value of ... removes the key."""
    base: dict[str, Any] = {
        "request_id": rid(n),
        "issued_at": IAT,
        "expires_at": IAT + 60,
        "room": ROOM,
        "target": AGENT,
        "reason": "session ended by the operator",
        "issuer": "billing-backend",
        "options": {"drain": False, "grace_ms": 0, "delete_room": False},
    }
    for key, value in changes.items():
        if value is ...:
            base.pop(key)
        else:
            base[key] = value
    return base


def pack(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


def patch(raw: bytes, old: bytes, new: bytes) -> bytes:
    """Replace the one occurrence of ``old`` (which must be there) in msgpack bytes."""
    if raw.count(old) != 1:
        raise SystemExit(f"patch target {old!r} not found exactly once")
    return raw.replace(old, new)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def envelope(items: Any) -> str:
    return b64(pack(items))


def signed(key: HmacSha256Key | Ed25519SigningKey, raw_body: bytes) -> str:
    return seal(raw_body, key)


class Builder:
    def __init__(self) -> None:
        self.cases: list[dict[str, Any]] = []

    def add(
        self,
        name: str,
        description: str,
        payload: str,
        expect: str | ErrorCode,
        *,
        now_ms: int = NOW_MS,
        binding: dict[str, Any] | None = None,
        prior: list[str] | None = None,
        build: dict[str, Any] | None = None,
    ) -> None:
        if prior is not None and len(set(prior)) != len(prior):
            raise SystemExit(f"{name}: priors must be distinct (spec §15: a repeat would be a duplicate)")
        self.cases.append(
            {
                "name": name,
                "description": description,
                "now_ms": now_ms,
                "binding": {**BINDING, **(binding or {})},
                "prior": prior or [],
                **({"build": build} if build is not None else {}),
                "payload": payload,
                "_expect": expect,
            }
        )

    def valid(
        self,
        name: str,
        description: str,
        key: HmacSha256Key | Ed25519SigningKey | None,
        fields: dict[str, Any],
        **kw: Any,
    ) -> str:
        request = ShutdownRequest.model_validate(fields)
        payload = sign_request(request, key) if key is not None else seal(encode_body(request), None)
        self.add(
            name,
            description,
            payload,
            "accepted",
            build={"key_id": key.key_id if key is not None else None, "request": fields},
            **kw,
        )
        return payload


def sb(raw: bytes) -> str:
    """``raw`` as a body signed with hmac-1 (so that it reaches the body checks)."""
    return signed(HMAC_1, raw)


OK_HMAC = sign_request(ShutdownRequest.model_validate(body(1)), HMAC_1)
"""The first accepted case's payload (hmac_accepted), which other sections alter."""
