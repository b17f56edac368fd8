"""The fuzz target for ``Verifier.verify`` and the invariant it checks, without atheris (tests reuse it).

One input is one byte string. Its first byte picks what the rest becomes (so mutations of a valid request are
still SIGNED with a real key and reach the body rules, not just the signature check):

* bits 0-1, the mode: 0 = the rest is the payload string itself (UTF-8, invalid bytes replaced);
  1 = the rest is a BODY, sealed with the key picked by bits 4-5; 2 = the rest is an ENVELOPE's msgpack bytes,
  base64-encoded into the payload; 3 = the rest is a body, sealed unsigned;
* bit 2: the agent allows the any-agent target; bit 3: the agent allows unsigned requests from this caller;
* bits 4-5: key for mode 1: hmac-1, hmac-2, ed-1 (vectors/v1.json's keys), or a key id the ring lacks.

The invariant (issue 12): the verifier answers with a decision or a ``ShutdownRpcError`` carrying an
``ErrorCode``, never another exception; and it accepts only a body that meets spec §4 under a valid signature
(or unsigned where allowed), in time (§6), for this room and target. Acceptance is re-checked by
:func:`spec_accepts`, written from spec.md alone (stdlib base64/hmac, plain msgpack, cryptography), not with
the package's own validators. An accepted request is then recorded and sent again: it must come back as a
duplicate with the same acknowledgement.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from pathlib import Path
from typing import Any, NamedTuple

import msgpack
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shutdown_rpc.protocol import (
    Acknowledgement,
    AckStatus,
    AgentBinding,
    DuplicateRequest,
    Ed25519SigningKey,
    Ed25519VerifyingKey,
    ErrorCode,
    HmacSha256Key,
    KeyRing,
    ShutdownRpcError,
    SigningKey,
    Verifier,
)
from shutdown_rpc.protocol.wire import FixedClock, seal

ROOT = Path(__file__).resolve().parent.parent
_VECTORS = json.loads((ROOT / "vectors" / "v1.json").read_text())
NOW_MS = 1_800_000_005_000
SKEW_S = 30
MAX_LIFETIME_S = 300
ROOM, AGENT, JOB = "support-room-42", "agent-AJ_vector1", "AJ_vector1"
DOMAIN = b"livekit-shutdown-rpc\x00"

_HMAC = {k["key_id"]: bytes.fromhex(k["secret_hex"]) for k in _VECTORS["keys"] if k["algorithm"] == "hmac-sha256"}
_ED = {k["key_id"]: bytes.fromhex(k["seed_hex"]) for k in _VECTORS["keys"] if k["algorithm"] == "ed25519"}
SIGNERS: list[SigningKey] = [
    HmacSha256Key("hmac-1", _HMAC["hmac-1"]),
    HmacSha256Key("hmac-2", _HMAC["hmac-2"]),
    Ed25519SigningKey.from_seed("ed-1", _ED["ed-1"]),
    HmacSha256Key("not-in-ring", b"k" * 32),
]
_PUBLIC = Ed25519PrivateKey.from_private_bytes(_ED["ed-1"]).public_key().public_bytes_raw()
RING = KeyRing(
    [*(HmacSha256Key(kid, secret) for kid, secret in _HMAC.items()), Ed25519VerifyingKey.from_bytes("ed-1", _PUBLIC)]
)


class InvariantBroken(AssertionError):
    """The verifier did something the invariant forbids (the fuzzer reports it as a crash)."""


class Setting(NamedTuple):
    """What one fuzz input stands for: the payload, and the verify() options the agent's policy sets."""

    payload: str
    allow_unsigned: bool
    allow_any_agent: bool


BINDING = AgentBinding(ROOM, AGENT, JOB)


def payload_of(data: bytes) -> Setting:
    """The payload string and the policy switches that one fuzz input stands for."""
    head, rest = (data[0], data[1:]) if data else (0, b"")
    mode = head & 3
    if mode == 0:
        payload = rest.decode("utf-8", "replace")
    elif mode == 1:
        payload = seal(rest, SIGNERS[(head >> 4) & 3])
    elif mode == 2:
        payload = base64.b64encode(rest).decode("ascii")
    else:
        payload = seal(rest, None)
    return Setting(payload, allow_unsigned=bool(head & 8), allow_any_agent=bool(head & 4))


def check(data: bytes) -> str:
    """Run one input through a fresh verifier and check the invariant; the outcome's name. Raises InvariantBroken."""
    setting = payload_of(data)
    payload = setting.payload
    verifier = Verifier(RING, clock=FixedClock(NOW_MS), skew_s=SKEW_S, max_lifetime_s=MAX_LIFETIME_S)
    options = {"allow_unsigned": setting.allow_unsigned, "allow_any_agent": setting.allow_any_agent}
    try:
        result = verifier.verify(payload, BINDING, now_ms=NOW_MS, **options)
    except ShutdownRpcError as err:
        if not isinstance(err.code, ErrorCode):
            raise InvariantBroken(f"refusal without an ErrorCode: {err.code!r}") from None
        return err.code.name
    except Exception as exc:
        raise InvariantBroken(f"{type(exc).__name__} escaped the verifier: {exc}") from exc
    if isinstance(result, DuplicateRequest):
        raise InvariantBroken("duplicate from an empty replay memory")
    problem = spec_accepts(setting, result.request.wire_dict(), result.key_id)
    if problem:
        raise InvariantBroken(f"accepted a request the spec refuses: {problem}")
    ack = Acknowledgement(
        status=AckStatus.ACCEPTED,
        request_id=result.request.request_id,
        agent_identity=AGENT,
        job_id=JOB,
        agent_time_ms=NOW_MS,
    )
    result.accept(ack, now_ms=NOW_MS)
    again = verifier.verify(payload, BINDING, now_ms=NOW_MS, **options)
    if not isinstance(again, DuplicateRequest) or again.ack != ack.as_duplicate():
        raise InvariantBroken(f"a recorded request came back as {again!r}")
    return "ACCEPTED"


# ---- spec.md, re-read independently ---------------------------------------------------------------------------

_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{22,64}")
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BODY_KEYS = ["request_id", "issued_at", "expires_at", "room", "target", "reason", "issuer", "options"]
_OPTION_KEYS = ["drain", "grace_ms", "delete_room"]


def _utf8_len(s: str) -> int:
    return len(s.encode("utf-8"))


def _strings_problem(body: dict[str, Any]) -> str | None:
    room, target, reason, issuer = (body[k] for k in ("room", "target", "reason", "issuer"))
    if any(type(s) is not str for s in (room, target, reason, issuer)):
        return "a string field is not a str"
    if not 1 <= _utf8_len(room) <= 256 or not 1 <= _utf8_len(target) <= 256:
        return "room/target length"
    if _utf8_len(reason) > 512 or _FORBIDDEN.search(reason):
        return "reason"
    if not 1 <= _utf8_len(issuer) <= 128 or _FORBIDDEN.search(issuer) or "[" in issuer or "]" in issuer:
        return "issuer"
    return None


def _options_problem(options: Any) -> str | None:
    if type(options) is not dict or sorted(options) != sorted(_OPTION_KEYS):
        return "options keys"
    if type(options["drain"]) is not bool or type(options["delete_room"]) is not bool:
        return "options booleans"
    if type(options["grace_ms"]) is not int or not 0 <= options["grace_ms"] <= 60_000:
        return "grace_ms"
    return None


def _body_problem(body: Any) -> str | None:
    """None when ``body`` (decoded plainly) meets spec §4."""
    if type(body) is not dict or sorted(body) != sorted(_BODY_KEYS):
        return "not a map with exactly the 8 keys"
    rid, iat, exp = body["request_id"], body["issued_at"], body["expires_at"]
    if type(rid) is not str or not _REQUEST_ID.fullmatch(rid):
        return "request_id"
    if any(type(t) is not int or not 0 <= t <= 2**32 - 1 for t in (iat, exp)) or exp <= iat:
        return "issued_at/expires_at"
    return _strings_problem(body) or _options_problem(body["options"])


def _envelope_of(payload: str) -> tuple[str, bytes, bytes] | str:
    """(key id, signature, body) of a v1 envelope that spec §2-3 accepts, else what fails."""
    if len(payload.encode("utf-8", "surrogatepass")) > 4096:
        return "payload over 4096 bytes"
    try:
        raw = base64.b64decode(payload.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        return "not base64"
    if base64.b64encode(raw).decode("ascii") != payload:
        return "not canonical base64"
    try:
        envelope = msgpack.unpackb(raw, raw=False, strict_map_key=False)
    except Exception:
        return "envelope not msgpack"
    if type(envelope) is not list or len(envelope) != 4 or envelope[0] != 1 or type(envelope[0]) is not int:
        return "not a v1 envelope"
    _, kid, signature, body = envelope
    if type(kid) is not str or type(signature) is not bytes or type(body) is not bytes:
        return "envelope types"
    return kid, signature, body


def _signature_problem(kid: str, signature: bytes, body: bytes, allow_unsigned: bool, key_id: str | None) -> str | None:
    """None when spec §5 accepts the signature (or the unsigned request) and the verifier named the right key."""
    if kid == "":
        ok = not signature and allow_unsigned and key_id is None
        return None if ok else "unsigned where not allowed"
    if not _KEY_ID.fullmatch(kid) or key_id != kid:
        return "key id"
    message = DOMAIN + bytes((1, len(kid))) + kid.encode("ascii") + body
    if kid in _HMAC:
        good = hmac.compare_digest(hmac.new(_HMAC[kid], message, hashlib.sha256).digest(), signature)
        return None if good else "bad HMAC"
    if kid not in _ED:
        return "unknown key"
    public: Ed25519PublicKey = Ed25519PrivateKey.from_private_bytes(_ED[kid]).public_key()
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return "bad Ed25519 signature"
    return None


def _place_problem(decoded: dict[str, Any], allow_any_agent: bool) -> str | None:
    """None when the request is in its time window (§6) and bound to this room and agent (§7 steps 13-14)."""
    iat, exp = decoded["issued_at"], decoded["expires_at"]
    if exp - iat > MAX_LIFETIME_S or NOW_MS < (iat - SKEW_S) * 1000 or NOW_MS >= (exp + SKEW_S) * 1000:
        return "out of its time window"
    if decoded["room"] != ROOM:
        return "another room"
    target = decoded["target"]
    if not ((target == "*" and allow_any_agent) or target in (AGENT, JOB)):
        return "another target"
    return None


def spec_accepts(setting: Setting, accepted: dict[str, Any], key_id: str | None) -> str | None:
    """None when spec.md accepts the payload here (and the verifier reported what it carries); else what fails."""
    envelope = _envelope_of(setting.payload)
    if isinstance(envelope, str):
        return envelope
    kid, signature, body = envelope
    problem = _signature_problem(kid, signature, body, setting.allow_unsigned, key_id)
    if problem:
        return problem
    try:
        decoded = msgpack.unpackb(body, raw=False, strict_map_key=False)
    except Exception:
        return "body not msgpack"
    problem = _body_problem(decoded)
    if problem:
        return problem
    if decoded != accepted:
        return "the verifier reported other content than the body carries"
    return _place_problem(decoded, setting.allow_any_agent)
